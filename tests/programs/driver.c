/* The test driver shared by every case: reads one command per line on
 * stdin and lets the case's handle() answer it on stdout.  It reaches its
 * update point every 10 ms, so a patch is taken promptly. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <dsu.h>

void handle(const char *cmd);

int main(void)
{
    char line[512];
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
