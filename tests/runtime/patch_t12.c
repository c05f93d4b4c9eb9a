/* Patch v1 -> v2 of typeprog.c, in the shape patchgen emits.
 *
 * struct rec changes layout to { long b; int a; int c; } (b widened and
 * moved, c new) in the same room, with a type transformer; every function
 * that touches its fields gets a new body that converts an object before
 * using it.  `counter` changes type (int -> long): the patch gives it new
 * storage, filled by a state transformer.
 *
 * Variants, by the value of BAD:
 *   1 the transformer expects another layout than the process has
 *   2 the transformer expects another size
 *   3 the type import names the old layout, not the one this patch makes
 *   4 imports a type the program does not wrap
 *   5 the transformer fails for an object with a == 666
 *   6 a second state transformer fails, after the first one ran */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsu_internal.h"

#ifndef BAD
#define BAD 0
#endif

#define TAG_V1 0x11111111u
#define TAG_V2 0x22222222u

/* the type as this patch's code sees it */
struct rec {
    union {
        struct {
            long b;
            int a;
            int c;
        };
        unsigned char __dsu_room[24] __attribute__((aligned(8)));
    };
    unsigned int __dsu_tag;
};

/* the layout it converts from */
struct __dsu_old_rec {
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

static void *__dsu_type_rec; /* struct dsu_type_state * */
static int *__dsu_imp_old_counter;
static struct item **__dsu_imp_list_head;

#define DSU_CONVERT(p)                                                                   \
    do {                                                                                 \
        if (((struct dsu_type_state *)__dsu_type_rec)->changed && (p)->__dsu_tag != TAG_V2) \
            dsu__convert(__dsu_type_rec, (p), TAG_V2);                                    \
    } while (0)

static int __dsu_xform_rec(void *obj)
{
    struct __dsu_old_rec old;
    struct rec *r = obj;
    memcpy(&old, obj, sizeof old);
    if (BAD == 5 && old.a == 666)
        return 9;
    memset(r->__dsu_room, 0, sizeof r->__dsu_room);
    r->a = old.a;
    r->b = old.b;
    r->c = 0;
    return 0;
}

/* `counter` in its new type */
long __dsu_v2_counter;

static int __dsu_state_counter(void)
{
    __dsu_v2_counter = *__dsu_imp_old_counter;
    return 0;
}

#if BAD == 6
static int __dsu_state_limit(void) { return 4; }
#endif

static int __dsu_v2_show(struct rec *r, char *buf)
{
    DSU_CONVERT(r);
    __dsu_v2_counter++;
    return sprintf(buf, "a=%d b=%ld c=%d", r->a, r->b, r->c);
}

static void __dsu_v2_set(struct rec *r, long long a, long long b)
{
    DSU_CONVERT(r);
    r->a = (int)a;
    r->b = (long)b;
}

static int __dsu_v2_add(long long a, long long b)
{
    struct item *it = malloc(sizeof *it), **p = __dsu_imp_list_head;
    struct rec *r = calloc(1, sizeof *r);
    int n = 0;
    if (!it || !r)
        abort();
    r->__dsu_tag = TAG_V2; /* made by new code: in the new layout */
    r->a = (int)a;
    r->b = (long)b;
    it->rec = r;
    it->next = NULL;
    for (; *p; p = &(*p)->next)
        n++;
    *p = it;
    return n;
}

static long __dsu_v2_count(void) { return __dsu_v2_counter; }

static const struct dsu_sym defs[] = {
    {"counter", "h-long", "typeprog.c", DSU_VAR, sizeof(long), 0, &__dsu_v2_counter},
};
static const struct dsu_import imports[] = {
    {BAD == 4 ? "struct nosuch@typeprog.c" : "struct rec@typeprog.c",
     BAD == 3 ? "L-rec-1" : "L-rec-2", DSU_IMPORT_TYPE, &__dsu_type_rec},
    {"counter", "h-int", DSU_IMPORT_VAR, (void **)&__dsu_imp_old_counter},
    {"list_head", "h-item*", DSU_IMPORT_VAR, (void **)&__dsu_imp_list_head},
};
static const struct dsu_update updates[] = {
    {"show", "h-show", (void *)__dsu_v2_show},
    {"set", "h-set", (void *)__dsu_v2_set},
    {"add", "h-add", (void *)__dsu_v2_add},
    {"count", "h-count", (void *)__dsu_v2_count},
};
static const struct dsu_xform xforms[] = {
    {"struct rec@typeprog.c", BAD == 1 ? "L-rec-0" : "L-rec-1", "L-rec-2", TAG_V1, TAG_V2,
     BAD == 2 ? 40 : sizeof(struct rec), __builtin_offsetof(struct rec, __dsu_tag),
     __dsu_xform_rec},
};
static const struct dsu_state states[] = {
    {"counter", __dsu_state_counter},
#if BAD == 6
    {"limit", __dsu_state_limit},
#endif
};

const struct dsu_patch dsu_patch = {
    .magic = DSU_PATCH_MAGIC, .abi = DSU_ABI_VERSION, .program = "typeprog",
    .from_version = "v1", .from_id = "id-t1", .to_version = "v2", .to_id = "id-t2",
    .defs = defs, .ndefs = 1, .imports = imports, .nimports = 3,
    .updates = updates, .nupdates = 4,
    .summary = "changed struct rec: long b, int a, int c\nchanged counter: long",
    .xforms = xforms, .nxforms = 1,
    .states = states, .nstates = sizeof states / sizeof states[0],
    /* no update points: v2's points are v1's */
};
