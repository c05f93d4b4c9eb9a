#include <stdio.h>
struct account { int id; int legacy; long balance; };
static struct account acct = { 7, 99, 1000 };
void handle(const char *cmd)
{
    acct.balance += 10;
    printf("%s id=%d legacy=%d balance=%ld\n", cmd, acct.id, acct.legacy, acct.balance);
}
