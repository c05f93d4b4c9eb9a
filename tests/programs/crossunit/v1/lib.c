#include <stdio.h>
/* Calls to functions of other units: twice() and fail() (other.c),
 * atoi() (the C library, declared here by the program), never_defined()
 * (defined nowhere: the call is dead code, and gcc removes it, as in the
 * ordinary build).  fail() does not return: checked() needs no return
 * after it (-Wall -Werror). */
int twice(int x);
int atoi(const char *text);
void never_defined(void);
_Noreturn void fail(const char *why);

static int checked(int x)
{
    if (x >= 0)
        return x;
    fail("negative");
}

void handle(const char *cmd)
{
    if (sizeof(int) == 3)
        never_defined();
    printf("%s twice=%d\n", cmd, twice(checked(atoi("21"))));
}
