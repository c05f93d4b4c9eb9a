/* Shared objects that must never run inside a process they are sent to,
 * one per value of EVIL.  Each leaves a line in the file MARKER if any of
 * its code runs, saying where and as whom (and whether it could become
 * root again, as a patch loaded into a server that kept root as its saved
 * uid could):
 *   1 a well-formed v1 -> v2 patch of prog.c with a constructor
 *   2 a shared object that is not a patch, with a constructor
 *   3 a well-formed v1 -> v2 patch with an IFUNC resolver
 *   4 a patch for another version of prog.c, with a constructor
 *   5 a state transformer that forks (a well-formed v1 -> v2 patch whose
 *     transformer runs a child process; it marks nothing) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dsu_internal.h"

__attribute__((unused)) static void mark(const char *how)
{
    char line[300];
    int regained = setresuid(0, 0, 0) == 0 && geteuid() == 0;
    int fd = open(MARKER, O_WRONLY | O_CREAT | O_APPEND, 0666);
    snprintf(line, sizeof line, "%s ran in pid %d as uid %d, root regained: %d\n", how,
             (int)getpid(), (int)getuid(), regained);
    if (fd >= 0) {
        if (write(fd, line, strlen(line)) < 0)
            line[0] = '\0';
        close(fd);
    }
}

#if EVIL == 1 || EVIL == 2 || EVIL == 4
__attribute__((constructor)) static void on_load(void) { mark("constructor"); }
#endif

#if EVIL == 3
static int plain(void) { return 1; }
static int (*resolve(void))(void)
{
    mark("ifunc resolver");
    return plain;
}
int chosen(void) __attribute__((ifunc("resolve")));
int (*use_chosen)(void) = chosen;
#endif

#if EVIL == 5
static int forks(void)
{
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    return child > 0 && waitpid(child, NULL, 0) == child ? 0 : 1;
}
static const struct dsu_state states[] = {{"hits", forks}};
#endif

#if EVIL != 2
const struct dsu_patch dsu_patch = {
    .magic = DSU_PATCH_MAGIC, .abi = DSU_ABI_VERSION, .program = "testprog",
    .from_version = "v1", .from_id = EVIL == 4 ? "id-v0-0000" : "id-v1-5e7a",
    .to_version = "v2", .to_id = "id-v2-9c31",
    .summary = "evil",
#if EVIL == 5
    .states = states, .nstates = 1,
#endif
};
#endif
