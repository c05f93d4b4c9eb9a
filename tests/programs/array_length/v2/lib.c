#include <stdio.h>
/* an array whose length comes from its initializer; the patch's code
 * takes its sizeof */
static int hits[] = {0, 0, 0};
static unsigned turn;

void handle(const char *cmd)
{
    static int odd[] = {0, 0};        /* and a function-local one */
    odd[turn % (sizeof odd / sizeof odd[0])]++;
    hits[turn++ % (sizeof hits / sizeof hits[0])]++;
    printf("%s first=%d odd=%d slots=%zu\n", cmd, hits[0], odd[1], sizeof hits / sizeof hits[0]);
}
