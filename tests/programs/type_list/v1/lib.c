#include <stdio.h>
#include <stdlib.h>
struct node { int value; struct node *next; };
static struct node *head;
static int count;
void handle(const char *cmd)
{
    struct node *n = malloc(sizeof *n);
    int sum = 0;
    n->value = ++count;
    n->next = head;
    head = n;
    for (struct node *p = head; p; p = p->next)
        sum += p->value;
    printf("%s sum=%d\n", cmd, sum);
}
