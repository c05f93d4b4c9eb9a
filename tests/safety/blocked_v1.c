/* The only update point sits where struct acct is in use. */
#include <stdio.h>
#include <dsu.h>

struct acct { int balance; };
static struct acct a;

void handle(const char *cmd)
{
    DSU_update();
    a.balance += 5;
    printf("%s balance=%d\n", cmd, a.balance);
}
