/* Reads one number per line on stdin and answers on stdout; reaches its
 * update point every 10 ms. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <dsu.h>
#include "tally.h"

int main(void)
{
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    for (;;) {
        struct pollfd in = { 0, POLLIN, 0 };
        DSU_update();
        if (poll(&in, 1, 10) <= 0)
            continue;
        if (!fgets(line, sizeof line, stdin))
            break;
        line[strcspn(line, "\n")] = '\0';
        handle(line);
    }
    return 0;
}
