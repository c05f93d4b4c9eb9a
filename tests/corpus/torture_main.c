/* The patch-torture harness's unit around the program's main (linked
 * with -Wl,--wrap=main, so the program's own unit stays as written).
 *
 * With DSU_TORTURE_FDS="READY,GO" in the environment it writes one byte
 * on READY, then passes its update point again and again until a byte
 * arrives on GO: the harness applies its patch there, before any code
 * of the program has run.  Both descriptors are closed before main, so
 * the program sees the descriptors it would see without the harness. */
#include <dsu.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

int __real_main(int argc, char **argv, char **envp);

/* The linker makes __real_main the program's main; a patch binds only
 * to what the program defines, so its copy of __wrap_main reaches main
 * through this variable (whose running value a patch keeps). */
static int (*real_main)(int, char **, char **) = __real_main;

static int go_arrived(int go)
{
    struct pollfd p = { go, POLLIN, 0 };
    return poll(&p, 1, 1) > 0;
}

int __wrap_main(int argc, char **argv, char **envp)
{
    const char *fds = getenv("DSU_TORTURE_FDS");
    if (fds) {
        char *rest;
        int ready = (int)strtol(fds, &rest, 10);
        int go = (int)strtol(rest + 1, NULL, 10);
        char byte = 'r';
        if (write(ready, &byte, 1) != 1)
            abort();
        close(ready);
        while (!go_arrived(go)) {
            DSU_update();
        }
        close(go);
        unsetenv("DSU_TORTURE_FDS");
    }
    return real_main(argc, argv, envp);
}
