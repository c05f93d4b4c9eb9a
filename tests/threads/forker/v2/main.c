/* A forking server in miniature: the parent answers commands on stdin;
 * each child it forks counts in its own loop, reaching its update point
 * every 10 ms, until the parent goes away.
 *
 *   prog N [stuck]   forks N children; with "stuck" one more that never
 *                    reaches an update point
 * Commands: "children" (their pids), "fork" (one more, its pid),
 * "version". */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <dsu.h>

static pid_t kids[64];
static int nkids;
static long ticks;

static const char *version(void) { return "v2"; }

static void child_loop(int stuck)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (stuck)
        for (;;)
            pause();
    for (;;) {
        DSU_update();
        ticks++;
        usleep(10000);
    }
}

static pid_t spawn(int stuck)
{
    fflush(stdout);
    pid_t p = fork();
    if (p == 0)
        child_loop(stuck);
    if (p > 0 && nkids < 64)
        kids[nkids++] = p;
    return p;
}

int main(int argc, char **argv)
{
    char line[256];
    int n = argc > 1 ? atoi(argv[1]) : 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGCHLD, SIG_IGN);
    for (int i = 0; i < n; i++)
        spawn(0);
    if (argc > 2 && strcmp(argv[2], "stuck") == 0)
        spawn(1);
    printf("ready\n");
    for (;;) {
        struct pollfd in = {0, POLLIN, 0};
        DSU_update();
        if (poll(&in, 1, 10) <= 0)
            continue;
        if (!fgets(line, sizeof line, stdin))
            break;
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "children") == 0) {
            for (int i = 0; i < nkids; i++)
                printf("%s%d", i ? " " : "", (int)kids[i]);
            printf("\n");
        } else if (strcmp(line, "fork") == 0) {
            printf("%d\n", (int)spawn(0));
        } else if (strcmp(line, "version") == 0) {
            printf("%s\n", version());
        }
    }
    return 0;
}
