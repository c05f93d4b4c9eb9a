/* An updateable program without a single updateable definition: it must
 * link (no "dsu_syms" section) and answer STATUS. */
#include <stdio.h>
#include <unistd.h>

#include "dsu.h"

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready %d %s\n", (int)getpid(), dsu_version());
    char c;
    while (read(0, &c, 1) == 1) /* until stdin closes */
        DSU_update();
    return 0;
}
