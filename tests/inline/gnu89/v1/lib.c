#include <stdio.h>
#include "util.h"
static int calls;
void handle(const char *cmd)
{
    int (*p)(int) = sq;
    calls++;
    printf("%s sq=%d cube=%d ptr=%d calls=%d\n", cmd, sq(calls), cube(calls), p(calls),
           calls);
}
