#include <stdio.h>
struct counter { int hits; int step; };
static struct counter c = { 0, 1000000000 };
void handle(const char *cmd)
{
    c.hits += c.step;
    printf("%s hits=%d\n", cmd, c.hits);
}
