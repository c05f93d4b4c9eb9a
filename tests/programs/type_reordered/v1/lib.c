#include <stdio.h>
struct mix { int a; double b; char c; };
static struct mix m = { 1, 2.5, 'x' };
void handle(const char *cmd)
{
    m.a++;
    printf("%s a=%d b=%.1f c=%c\n", cmd, m.a, m.b, m.c);
}
