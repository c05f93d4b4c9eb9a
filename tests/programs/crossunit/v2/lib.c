#include <stdio.h>
/* Calls to functions of other units: twice() (other.c), atoi() (the C
 * library, declared here by the program), never_defined() (defined
 * nowhere: the call is dead code, and gcc removes it, as in the
 * ordinary build). */
int twice(int x);
int atoi(const char *text);
void never_defined(void);

void handle(const char *cmd)
{
    if (sizeof(int) == 3)
        never_defined();
    printf("%s twice=%d\n", cmd, twice(atoi("21")));
}
