#include <stdio.h>
#include <stdlib.h>
struct node { int value; struct node *next; int weight; };
static struct node *head;
static int count;
void handle(const char *cmd)
{
    struct node *n = malloc(sizeof *n);
    int sum = 0, weighted = 0;
    n->value = ++count;
    n->weight = 2;
    n->next = head;
    head = n;
    for (struct node *p = head; p; p = p->next) {
        sum += p->value;
        weighted += p->value * p->weight;
    }
    printf("%s sum=%d weighted=%d\n", cmd, sum, weighted);
}
