#include <stdio.h>
struct mix { char c; double b; int a; };
static struct mix m = { 'x', 2.5, 1 };
void handle(const char *cmd)
{
    m.a++;
    printf("%s a=%d b=%.1f c=%c (v2)\n", cmd, m.a, m.b, m.c);
}
