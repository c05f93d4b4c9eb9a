#include <stdio.h>
struct counter { long hits; int step; };
static struct counter c = { 0, 1000000000 };
void handle(const char *cmd)
{
    c.hits += c.step;
    printf("%s hits=%ld\n", cmd, c.hits);
}
