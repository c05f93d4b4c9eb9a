/* A small updateable test program, written the way the dsu compiler pass
 * emits code: each updateable function has a body, a slot and an asm stub
 * that jumps through the slot; every updateable definition has a registry
 * entry in the "dsu_syms" section.
 *
 * It serves one-line commands on stdin and answers on stdout, reaching an
 * update point every couple of milliseconds (unless told to "block"). */
#include <fcntl.h>
#include <poll.h>
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

static void handle(char *line)
{
    int n;
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
