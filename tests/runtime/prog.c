/* A small updateable test program, written the way the dsu compiler pass
 * emits code: each updateable function has a body, a slot and an asm stub
 * that jumps through the slot; every updateable definition has a registry
 * entry in the "dsu_syms" section.
 *
 * It serves one-line commands on stdin and answers on stdout, reaching an
 * update point every couple of milliseconds (unless told to "block").
 * Some commands play the parts of the programs in tests/test_security.py:
 * lowering privileges, holding a secret, reusing fds, sandboxing itself. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsu.h"
#include "dsu_internal.h"

/* ---- updateable definitions (the generated shape) ---- */

int hits; /* state that must survive updates */

static int __dsu_body_twice(int x) { return 2 * x; }
int (*__dsu_slot_twice)(int) = __dsu_body_twice;
int twice(int);
__asm__(".text\n.globl twice\n.type twice,@function\ntwice:\n\tendbr64\n"
        "\tmovq __dsu_slot_twice@GOTPCREL(%rip), %r11\n\tjmp *(%r11)\n.size twice, .-twice\n");

static int __dsu_body_greet(int x)
{
    hits++;
    return x + 1;
}
int (*__dsu_slot_greet)(int) = __dsu_body_greet;
int greet(int);
__asm__(".text\n.globl greet\n.type greet,@function\ngreet:\n\tendbr64\n"
        "\tmovq __dsu_slot_greet@GOTPCREL(%rip), %r11\n\tjmp *(%r11)\n.size greet, .-greet\n");

static struct dsu_sym __dsu_sym_greet __attribute__((used, section("dsu_syms"), aligned(8))) =
    {"greet", "h-int(int)", "prog.c", DSU_FUNC, 0, (void **)&__dsu_slot_greet, (void *)greet};
static struct dsu_sym __dsu_sym_twice __attribute__((used, section("dsu_syms"), aligned(8))) =
    {"twice", "h-int(int)", "prog.c", DSU_FUNC, 0, (void **)&__dsu_slot_twice, (void *)twice};
static struct dsu_sym __dsu_sym_hits __attribute__((used, section("dsu_syms"), aligned(8))) =
    {"hits", "h-int", "prog.c", DSU_VAR, sizeof hits, 0, &hits};

/* ---- the program ---- */

static void close_all_fds(void)
{
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
}

static char secret[256]; /* what a server read before dropping root */

/* Keeps our fd numbers busy with socket pairs of our own for a while, then
 * checks that nobody else read, wrote or closed them. */
static void check_own_fds(void)
{
    int sv[16][2], n = 0;
    close_all_fds();
    while (n < 16 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv[n]) == 0)
        n++;
    sleep(6); /* longer than any request deadline of the runtime */
    for (int i = 0; i < n; i++) {
        char c;
        struct pollfd p[2] = {{sv[i][0], POLLIN, 0}, {sv[i][1], POLLIN, 0}};
        if (fcntl(sv[i][0], F_GETFD) < 0 || fcntl(sv[i][1], F_GETFD) < 0) {
            printf("bad: fd %d or %d was closed\n", sv[i][0], sv[i][1]);
            return;
        }
        if (poll(p, 2, 0) != 0) {
            printf("bad: data or hangup on our pair %d/%d\n", sv[i][0], sv[i][1]);
            return;
        }
        if (write(sv[i][0], "x", 1) != 1 || read(sv[i][1], &c, 1) != 1 || c != 'x') {
            printf("bad: pair %d/%d broken\n", sv[i][0], sv[i][1]);
            return;
        }
    }
    printf("ok %d\n", n);
}

/* A strict sandbox: the calls listed, a kill (or with REFUSE an EPERM)
 * for anything else, on every thread (TSYNC), as sandboxed servers
 * install it. */
static void sandbox(const char *list, int refuse)
{
    const unsigned other = refuse ? SECCOMP_RET_ERRNO | 1 : SECCOMP_RET_KILL_PROCESS;
    struct sock_filter f[160];
    unsigned n = 0;
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, arch));
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, nr));
    for (const char *p = list; *p && n < 150;) {
        char *end;
        long nr = strtol(p, &end, 10);
        if (end == p)
            break;
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1);
        f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        p = end + strspn(end, ", ");
    }
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, other);
    struct sock_fprog prog = {(unsigned short)n, f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
        printf("sandbox failed\n");
    else
        printf("ok\n");
}

static void handle(char *line)
{
    int n, g;
    char path[200];
    if (sscanf(line, "greet %d", &n) == 1) {
        printf("%d\n", greet(n));
    } else if (strcmp(line, "hits") == 0) {
        printf("%d\n", hits);
    } else if (strcmp(line, "version") == 0) {
        printf("%s\n", dsu_version());
    } else if (strcmp(line, "closefds") == 0) {
        /* as daemons do; then take the lowest numbers for ourselves, so
         * the runtime's old fd numbers now name files of the program */
        close_all_fds();
        for (int i = 0; i < 8; i++)
            open("/dev/null", O_RDONLY);
        printf("ok\n");
    } else if (strcmp(line, "daemon") == 0) {
        close_all_fds();
        fflush(stdout);
        pid_t child = fork();
        if (child < 0) {
            printf("fork failed\n");
        } else if (child > 0) {
            _exit(0);
        } else {
            printf("pid %d\n", (int)getpid());
        }
    } else if (sscanf(line, "seteuid %d", &n) == 1) {
        /* a server that lowers only its effective uid, root kept as saved */
        printf("%s\n", seteuid((uid_t)n) == 0 ? "ok" : "seteuid failed");
    } else if (sscanf(line, "setuid %d %d", &n, &g) == 2) {
        printf("%s\n", setresgid((gid_t)g, (gid_t)g, (gid_t)g) == 0 &&
                           setresuid((uid_t)n, (uid_t)n, (uid_t)n) == 0 ? "ok" : "setuid failed");
    } else if (sscanf(line, "secret %199s", path) == 1) {
        FILE *f = fopen(path, "r");
        printf("%s\n", f && fgets(secret, sizeof secret, f) ? "ok" : "no secret");
        if (f)
            fclose(f);
    } else if (strcmp(line, "nondumpable") == 0) {
        printf("%s\n", prctl(PR_SET_DUMPABLE, 0) == 0 ? "ok" : "prctl failed");
    } else if (strcmp(line, "ownfds") == 0) {
        check_own_fds();
    } else if (strncmp(line, "sandbox ", 8) == 0) {
        sandbox(line + 8, 0);
    } else if (strncmp(line, "sandbox-eperm ", 14) == 0) {
        sandbox(line + 14, 1);
    } else if (strcmp(line, "quit") == 0) {
        exit(0);
    } else {
        printf("?\n");
    }
}

int main(void)
{
    char buf[4096];
    size_t len = 0;
    int blocked = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready %d\n", (int)getpid());
    for (;;) {
        struct pollfd p = {0, POLLIN, 0};
        if (poll(&p, 1, 2) == 1) {
            ssize_t r = read(0, buf + len, sizeof buf - 1 - len);
            if (r <= 0)
                return 0;
            len += (size_t)r;
            char *nl;
            while ((nl = memchr(buf, '\n', len))) {
                *nl = '\0';
                if (strcmp(buf, "block") == 0) {
                    blocked = 1; /* no update point until "unblock" */
                    printf("ok\n");
                } else if (strcmp(buf, "unblock") == 0) {
                    blocked = 0;
                    printf("ok\n");
                } else {
                    handle(buf);
                }
                len -= (size_t)(nl + 1 - buf);
                memmove(buf, nl + 1, len);
            }
        }
        if (!blocked)
            DSU_update();
    }
}
