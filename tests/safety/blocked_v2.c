/* The only update point sits where struct acct is in use. */
#include <stdio.h>
#include <dsu.h>

struct acct { long balance; int fee; };
static struct acct a;

void handle(const char *cmd)
{
    DSU_update();
    a.balance += 5;
    printf("%s balance=%ld\n", cmd, a.balance);
}
