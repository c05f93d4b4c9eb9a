/* v1: helper() lives in this unit, so handle() calls it directly (and
 * gcc inlines it).  v2 moves helper() to more.c unchanged; v3 changes it
 * there. */
#include <stdio.h>

int helper(int x)
{
    return x + 1;
}

void handle(const char *cmd)
{
    printf("%s helper=%d\n", cmd, helper(1));
}
