#include <stdio.h>
/* an array whose length comes from its initializer; the patch's code
 * takes its sizeof */
static int hits[] = {0, 0, 0};
static unsigned turn;

void handle(const char *cmd)
{
    hits[turn++ % (sizeof hits / sizeof hits[0])]++;
    printf("%s first=%d slots=%zu\n", cmd, hits[0], sizeof hits / sizeof hits[0]);
}
