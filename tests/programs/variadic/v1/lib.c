#include <stdarg.h>
#include <stdio.h>
static int count;
static int sum(int n, ...)
{
    va_list ap;
    int total = 0;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        total += va_arg(ap, int);
    va_end(ap);
    return total;
}
static int (*fp)(int, ...) = sum;
void handle(const char *cmd) { count++; printf("%s sum=%d fp=%d\n", cmd, sum(3, count, count, count), fp(2, count, 1)); }
