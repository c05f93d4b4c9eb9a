/* v2 and v3: helper() is in more.c; handle()'s text is the same as in v1,
 * but its call now goes through helper()'s slot. */
#include <stdio.h>

int helper(int x);

void handle(const char *cmd)
{
    printf("%s helper=%d\n", cmd, helper(1));
}
