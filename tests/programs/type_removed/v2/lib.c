#include <stdio.h>
struct account { int id; long balance; };
static struct account acct = { 7, 1000 };
void handle(const char *cmd)
{
    acct.balance += 10;
    printf("%s id=%d balance=%ld\n", cmd, acct.id, acct.balance);
}
