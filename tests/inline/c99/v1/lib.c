#include <stdio.h>
#include "util.h"
static int calls;
void handle(const char *cmd)
{
    int (*p)(int) = b_ptr();
    calls++;
    printf("%s twice=%d a=%d b=%d ptr=%d same=%d half=%d calls=%d\n", cmd,
           twice(calls), a_val(calls), b_val(calls), p(calls), p == twice,
           half(10 * calls), calls);
}
