/* A main loop that never returns: its body changes in v2. */
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <dsu.h>

int main(void)
{
    char line[256];
    int lines = 0;
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
        lines++;
        printf("echo %d: %s\n", lines, line);
    }
    return 0;
}
