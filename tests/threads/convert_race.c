/* Several threads reach the same old objects through the inline check
 * that patch code uses (check.h, written by the test from the patch
 * generator's own text) while a two-step chain of transformers converts
 * them.  Each transformer is slow and leaves the object visibly broken
 * while it works; every thread checks every object it gets back.  Prints
 * "ok" when each object was converted exactly once and no thread saw one
 * half converted.  Includes the runtime itself to build the chain. */
#include "dsu_runtime.c"
#include <stdatomic.h>

const char dsu__program_name[] = "convert_race";
const char dsu__program_version[] = "v1";
const char dsu__program_version_id[] = "id-race";

#define A 0xaaaaaaaau
#define B 0xbbbbbbbbu
#define C 0xccccccccu
#define NOBJ 2048
#define NTHREAD 8

struct obj {
    long v;      /* layout A: v */
    long twice;  /* layout B: and 2v */
    long thrice; /* layout C: and 3v */
    unsigned tag;
};

static struct obj objs[NOBJ];
static atomic_long runs[2], bad;

static void dawdle(void)
{
    for (volatile int i = 0; i < 5000; i++)
        ;
}

static int x1(void *o)
{
    struct obj *p = o;
    long v = p->v;
    p->v = -1; /* what a reader of a half-converted object would see */
    dawdle();
    p->twice = 2 * v;
    p->v = v;
    atomic_fetch_add(&runs[0], 1);
    return 0;
}

static int x2(void *o)
{
    struct obj *p = o;
    long v = p->v;
    p->v = -2;
    dawdle();
    p->thrice = 3 * v;
    p->v = v;
    atomic_fetch_add(&runs[1], 1);
    return 0;
}

static const struct dsu_patch patch = {.from_version = "v1", .to_version = "v3"};
static const struct dsu_xform xf[] = {
    {"struct obj@race", "L-A", "L-B", A, B, sizeof(struct obj), offsetof(struct obj, tag), x1},
    {"struct obj@race", "L-B", "L-C", B, C, sizeof(struct obj), offsetof(struct obj, tag), x2},
};
static const struct dsu_type entry = {"struct obj@race", "L-A", A, sizeof(struct obj),
                                      offsetof(struct obj, tag), 0};

#include "check.h" /* defines CHECK_OBJ(p) and its cell, obj_cell */

static pthread_barrier_t start;

static void *hammer(void *arg)
{
    long k = (long)arg;
    pthread_barrier_wait(&start);
    for (int round = 0; round < 3; round++)
        for (long i = 0; i < NOBJ; i++) {
            /* half the threads walk the objects side by side, the others
             * each in an order of its own */
            long j = k % 2 ? i : (i * (2 * k + 1) + k * 131) % NOBJ;
            struct obj *p = CHECK_OBJ(&objs[j]);
            long v = p->v;
            if (p->twice != 2 * v || p->thrice != 3 * v || v <= 0)
                atomic_fetch_add(&bad, 1);
        }
    return NULL;
}

int main(void)
{
    static struct type t;
    static struct step s[2];
    t.prog = &entry;
    t.tail = &t.steps;
    for (int i = 0; i < 2; i++) {
        s[i] = (struct step){NULL, xf[i].from_tag, xf[i].to_tag, xf[i].convert, &t, &xf[i],
                             &patch};
        *t.tail = &s[i];
        t.tail = &s[i].next;
        t.nsteps++;
    }
    t.pub.changed = 1;
    obj_cell = &t.pub;
    for (int i = 0; i < NOBJ; i++) /* half in the base layout untagged, half tagged */
        objs[i] = (struct obj){.v = i + 1, .tag = i % 2 ? A : 0};
    pthread_t th[NTHREAD];
    pthread_barrier_init(&start, NULL, NTHREAD);
    for (long k = 0; k < NTHREAD; k++)
        pthread_create(&th[k], NULL, hammer, (void *)k);
    for (int k = 0; k < NTHREAD; k++)
        pthread_join(th[k], NULL);
    long r0 = atomic_load(&runs[0]), r1 = atomic_load(&runs[1]), b = atomic_load(&bad);
    if (r0 != NOBJ || r1 != NOBJ || b != 0) {
        printf("converted %ld and %ld times (want %d each), %ld half-converted reads\n", r0,
               r1, NOBJ, b);
        return 1;
    }
    printf("ok\n");
    return 0;
}
