#line 2 "pointprog.c" /* __FILE__ as a build in the source directory has it */
/* An updateable test program whose update points differ in what they
 * allow, in the shape the dsu compiler pass emits: each analysed
 * DSU_update() has an entry in the section "dsu_points" naming the wrapped
 * types that code still running after it uses concretely.
 *
 * work() reads the fields of `struct rec` after its update point, in the
 * layout it was compiled for, so that point restricts the type.  The
 * point at the head of the main loop restricts nothing: main() only passes
 * a pointer on (with MAIN_USES_REC it reads a field too, and every point
 * restricts the type).
 *
 * The program reaches an update point only on command, so the test
 * decides where a pending patch meets it.  Commands on stdin, one answer
 * line each on stdout:
 *   work      call work() (its point, then "<label()> a=.. b=..")
 *   step      pass the loop head's point, then answer the version
 *   stray     pass a DSU_update() that no table lists, then "ok"
 *   version | quit */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsu.h"
#include "dsu_internal.h"

const char dsu__program_name[] = "pointprog";
const char dsu__program_version[] = "v1";
const char dsu__program_version_id[] = "id-p1";

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

static struct dsu_type __dsu_type_rec __attribute__((used, section("dsu_types"), aligned(8))) =
    {"struct rec@pointprog.c", "L-prec-1", 0x11111111u, sizeof(struct rec),
     offsetof(struct rec, __dsu_tag), 0};

static const char *const __dsu_uses_rec[] = {"struct rec@pointprog.c", NULL};
#if MAIN_USES_REC
#define MAIN_USES __dsu_uses_rec
#else
static const char *const __dsu_uses_nothing[] = {NULL};
#define MAIN_USES __dsu_uses_nothing
#endif

/* The entry and the call on one line: both see the same __LINE__. */
#define UPDATE_POINT(function, restricted)                                               \
    do {                                                                                 \
        static const struct dsu_point __dsu_point                                        \
            __attribute__((used, section("dsu_points"), aligned(8))) =                   \
                {__FILE__, __LINE__, 0, function, restricted};                           \
        DSU_update();                                                                    \
    } while (0)

#define STUB(f)                                                                          \
    __asm__(".text\n.globl " #f "\n.type " #f ",@function\n" #f ":\n\tendbr64\n"          \
            "\tmovq __dsu_slot_" #f "@GOTPCREL(%rip), %r11\n\tjmp *(%r11)\n.size " #f   \
            ", .-" #f "\n")

/* ---- updateable definitions ---- */

struct rec item;

static const char *__dsu_body_label(void) { return "old"; }
const char *(*__dsu_slot_label)(void) = __dsu_body_label;
const char *label(void);
STUB(label);

static void __dsu_body_work(struct rec *r)
{
    UPDATE_POINT("work", __dsu_uses_rec);
    printf("%s a=%d b=%d\n", label(), r->a, r->b);
}
void (*__dsu_slot_work)(struct rec *) = __dsu_body_work;
void work(struct rec *);
STUB(work);

#define SYM(name, hash, kind, size, slot, addr)                                          \
    static struct dsu_sym __dsu_sym_##name __attribute__((used, section("dsu_syms"),       \
                                                          aligned(8))) =                    \
        {#name, hash, "pointprog.c", kind, size, slot, addr}
SYM(label, "h-label", DSU_FUNC, 0, (void **)&__dsu_slot_label, (void *)label);
SYM(work, "h-work", DSU_FUNC, 0, (void **)&__dsu_slot_work, (void *)work);
SYM(item, "h-rec", DSU_VAR, sizeof item, 0, &item);

/* ---- the program ---- */

int main(void)
{
    char line[256];
    int step = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    item.a = 1;
    item.b = 10;
    printf("ready %d\n", (int)getpid());
    for (;;) {
        if (step) {
            step = 0;
            UPDATE_POINT("main", MAIN_USES);
#if MAIN_USES_REC
            printf("%s a=%d\n", dsu_version(), item.a);
#else
            printf("%s\n", dsu_version());
#endif
        }
        if (!fgets(line, sizeof line, stdin))
            return 0;
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "step") == 0) {
            step = 1;
        } else if (strcmp(line, "work") == 0) {
            work(&item);
        } else if (strcmp(line, "stray") == 0) {
            DSU_update(); /* stray: in no table */
            printf("ok\n");
        } else if (strcmp(line, "version") == 0) {
            printf("%s\n", dsu_version());
        } else if (strcmp(line, "quit") == 0) {
            exit(0);
        } else {
            printf("?\n");
        }
    }
}
