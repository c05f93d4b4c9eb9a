/* Reads words on stdin; counts them in the library's table and greets. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <dsu.h>
#include "table.h"
#include "util.h"

int main(void)
{
    char line[64];
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
        int seen = table_bump(line);
        printf("%s; seen %d time(s), %d word(s)\n", net_greeting(line), seen,
               table_size());
    }
    return 0;
}
