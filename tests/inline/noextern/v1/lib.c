#include <stdio.h>
#include "util.h"
static int calls;
void handle(const char *cmd)
{
    calls++;
    printf("%s lucky=%d other=%d calls=%d\n", cmd, lucky(calls), other(calls), calls);
}
