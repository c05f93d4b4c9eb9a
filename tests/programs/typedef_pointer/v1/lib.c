#include <stdio.h>
#include <stdlib.h>
/* a struct defined inside a typedef of a pointer to it */
typedef struct node {
    int value;
    struct node *next;
} *node_p;

static node_p head;

void handle(const char *cmd)
{
    node_p n = malloc(sizeof *n);
    n->value = head ? head->value + 1 : 1;
    n->next = head;
    head = n;
    printf("%s top=%d\n", cmd, head->value);
}
