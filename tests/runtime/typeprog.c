/* An updateable test program with a wrapped struct type, in the shape the
 * dsu compiler pass emits: `struct rec` keeps its fields in a union with
 * fixed room and a layout tag after it, so that patches can change the
 * fields without moving any object; the type is listed in the section
 * "dsu_types".  Objects live in a global array (zeroed: tag 0) and in a
 * heap list (garbage tags, as malloc gives them).  The program code as
 * built never reads tags: its objects are in its own layout.
 *
 * Commands on stdin, one answer line each on stdout:
 *   show N | set N A B | add A B | tag N | count | version | quit
 * where N < 4 names recs[N] and N >= 100 the (N-100)th list element.
 *
 * Its one update point, at the head of the main loop, is listed in the
 * section "dsu_points" as using no wrapped type: main() only passes
 * pointers on.  NO_POINTS=1 leaves it unlisted, as in a program whose
 * points nobody analysed. */
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsu.h"
#include "dsu_internal.h"

/* what the generated version object says */
const char dsu__program_name[] = "typeprog";
const char dsu__program_version[] = "v1";
const char dsu__program_version_id[] = "id-t1";

/* Aligned room: every later layout (with longs) must fit in the same size
 * and keep the tag at the same offset. */
struct rec {
    union {
        struct {
            int a;
            int b;
        };
        unsigned char __dsu_room[24] __attribute__((aligned(8)));
    };
    unsigned int __dsu_tag;
};

struct item {
    struct rec *rec;
    struct item *next;
};

static struct dsu_type __dsu_type_rec __attribute__((used, section("dsu_types"), aligned(8))) =
    {"struct rec@typeprog.c", "L-rec-1", 0x11111111u, sizeof(struct rec),
     offsetof(struct rec, __dsu_tag), 0};

/* As another object of the program that includes the type would list it:
 * DUP_ENTRY=1 the same, DUP_ENTRY=2 in disagreement (a stale object). */
#if DUP_ENTRY
static struct dsu_type __dsu_type_rec2 __attribute__((used, section("dsu_types"), aligned(8))) =
    {"struct rec@typeprog.c", DUP_ENTRY == 1 ? "L-rec-1" : "L-rec-0", 0x11111111u,
     sizeof(struct rec), offsetof(struct rec, __dsu_tag), 0};
#endif

/* ---- updateable definitions ---- */

int counter;
struct rec recs[4];
struct item *list_head;

#define STUB(f)                                                                          \
    __asm__(".text\n.globl " #f "\n.type " #f ",@function\n" #f ":\n\tendbr64\n"          \
            "\tmovq __dsu_slot_" #f "@GOTPCREL(%rip), %r11\n\tjmp *(%r11)\n.size " #f   \
            ", .-" #f "\n")

static int __dsu_body_show(struct rec *r, char *buf)
{
    counter++;
    return sprintf(buf, "a=%d b=%d", r->a, r->b);
}
int (*__dsu_slot_show)(struct rec *, char *) = __dsu_body_show;
int show(struct rec *, char *);
STUB(show);

static void __dsu_body_set(struct rec *r, long long a, long long b)
{
    r->a = (int)a;
    r->b = (int)b;
}
void (*__dsu_slot_set)(struct rec *, long long, long long) = __dsu_body_set;
void set(struct rec *, long long, long long);
STUB(set);

static int __dsu_body_add(long long a, long long b)
{
    struct item *it = malloc(sizeof *it), **p = &list_head;
    struct rec *r = malloc(sizeof *r);
    int n = 0;
    if (!it || !r)
        abort();
    memset(r, 0xa5, sizeof *r); /* what malloc may give */
    r->a = (int)a;
    r->b = (int)b;
    it->rec = r;
    it->next = NULL;
    for (; *p; p = &(*p)->next)
        n++;
    *p = it;
    return n;
}
int (*__dsu_slot_add)(long long, long long) = __dsu_body_add;
int add(long long, long long);
STUB(add);

static long __dsu_body_count(void) { return counter; }
long (*__dsu_slot_count)(void) = __dsu_body_count;
long count(void);
STUB(count);

#define SYM(name, hash, kind, size, slot, addr)                                          \
    static struct dsu_sym __dsu_sym_##name __attribute__((used, section("dsu_syms"),       \
                                                          aligned(8))) =                    \
        {#name, hash, "typeprog.c", kind, size, slot, addr}
SYM(show, "h-show", DSU_FUNC, 0, (void **)&__dsu_slot_show, (void *)show);
SYM(set, "h-set", DSU_FUNC, 0, (void **)&__dsu_slot_set, (void *)set);
SYM(add, "h-add", DSU_FUNC, 0, (void **)&__dsu_slot_add, (void *)add);
SYM(count, "h-count", DSU_FUNC, 0, (void **)&__dsu_slot_count, (void *)count);
SYM(counter, "h-int", DSU_VAR, sizeof counter, 0, &counter);
SYM(recs, "h-rec[4]", DSU_VAR, sizeof recs, 0, recs);
SYM(list_head, "h-item*", DSU_VAR, sizeof list_head, 0, &list_head);

/* ---- the program ---- */

/* The entry and the call on one line: both see the same __LINE__. */
#if NO_POINTS
#define UPDATE_POINT(function, restricted) DSU_update()
#else
static const char *const __dsu_uses_nothing[] = {NULL};
#define UPDATE_POINT(function, restricted)                                               \
    do {                                                                                 \
        static const struct dsu_point __dsu_point                                        \
            __attribute__((used, section("dsu_points"), aligned(8))) =                   \
                {__FILE__, __LINE__, 0, function, restricted};                           \
        DSU_update();                                                                    \
    } while (0)
#endif

static struct rec *get(int n)
{
    if (n >= 0 && n < 4)
        return &recs[n];
    struct item *it = list_head;
    for (n -= 100; it && n > 0; n--)
        it = it->next;
    return n == 0 && it ? it->rec : NULL;
}

static void handle(char *line)
{
    char buf[256];
    int n;
    long long a, b;
    struct rec *r;
    if (sscanf(line, "show %d", &n) == 1 && (r = get(n))) {
        show(r, buf);
        printf("%s\n", buf);
    } else if (sscanf(line, "set %d %lld %lld", &n, &a, &b) == 3 && (r = get(n))) {
        set(r, a, b);
        printf("ok\n");
    } else if (sscanf(line, "add %lld %lld", &a, &b) == 2) {
        printf("%d\n", 100 + add(a, b));
    } else if (sscanf(line, "tag %d", &n) == 1 && (r = get(n))) {
        printf("%08x\n", r->__dsu_tag); /* a debugging aid, not program logic */
    } else if (strcmp(line, "count") == 0) {
        printf("%ld\n", count());
    } else if (strcmp(line, "version") == 0) {
        printf("%s\n", dsu_version());
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
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < 4; i++) {
        recs[i].a = i + 1;
        recs[i].b = 10 * (i + 1);
    }
    for (int k = 0; k < 3; k++)
        add(100 + k, 1000 + k);
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
                handle(buf);
                len -= (size_t)(nl + 1 - buf);
                memmove(buf, nl + 1, len);
            }
        }
        UPDATE_POINT("main", __dsu_uses_nothing);
    }
}
