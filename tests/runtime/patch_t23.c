/* Patch v2 -> v3 of typeprog.c (after patch_t12.c): struct rec changes
 * again, to { long a; long b; int c; int d; }, with d new (7).  Objects
 * untouched since v1 then convert in two steps on their first access. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsu_internal.h"

#define TAG_V2 0x22222222u
#define TAG_V3 0x33333333u

struct rec {
    union {
        struct {
            long a;
            long b;
            int c;
            int d;
        };
        unsigned char __dsu_room[24] __attribute__((aligned(8)));
    };
    unsigned int __dsu_tag;
};

struct __dsu_old_rec {
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

struct item {
    struct rec *rec;
    struct item *next;
};

static void *__dsu_type_rec;
static long *__dsu_imp_counter;
static struct item **__dsu_imp_list_head;

#define DSU_CONVERT(p)                                                                   \
    do {                                                                                 \
        if (((struct dsu_type_state *)__dsu_type_rec)->changed && (p)->__dsu_tag != TAG_V3) \
            dsu__convert(__dsu_type_rec, (p), TAG_V3);                                    \
    } while (0)

static int __dsu_xform_rec(void *obj)
{
    struct __dsu_old_rec old;
    struct rec *r = obj;
    memcpy(&old, obj, sizeof old);
    memset(r->__dsu_room, 0, sizeof r->__dsu_room);
    r->a = old.a;
    r->b = old.b;
    r->c = old.c;
    r->d = 7;
    return 0;
}

static int __dsu_v3_show(struct rec *r, char *buf)
{
    DSU_CONVERT(r);
    (*__dsu_imp_counter)++;
    return sprintf(buf, "a=%ld b=%ld c=%d d=%d", r->a, r->b, r->c, r->d);
}

static void __dsu_v3_set(struct rec *r, long long a, long long b)
{
    DSU_CONVERT(r);
    r->a = (long)a;
    r->b = (long)b;
}

static int __dsu_v3_add(long long a, long long b)
{
    struct item *it = malloc(sizeof *it), **p = __dsu_imp_list_head;
    struct rec *r = calloc(1, sizeof *r);
    int n = 0;
    if (!it || !r)
        abort();
    r->__dsu_tag = TAG_V3;
    r->a = (long)a;
    r->b = (long)b;
    r->d = 7;
    it->rec = r;
    it->next = NULL;
    for (; *p; p = &(*p)->next)
        n++;
    *p = it;
    return n;
}

static const struct dsu_import imports[] = {
    {"struct rec@typeprog.c", "L-rec-3", DSU_IMPORT_TYPE, &__dsu_type_rec},
    {"counter", "h-long", DSU_IMPORT_VAR, (void **)&__dsu_imp_counter},
    {"list_head", "h-item*", DSU_IMPORT_VAR, (void **)&__dsu_imp_list_head},
};
static const struct dsu_update updates[] = {
    {"show", "h-show", (void *)__dsu_v3_show},
    {"set", "h-set", (void *)__dsu_v3_set},
    {"add", "h-add", (void *)__dsu_v3_add},
};
static const struct dsu_xform xforms[] = {
    {"struct rec@typeprog.c", "L-rec-2", "L-rec-3", TAG_V2, TAG_V3, sizeof(struct rec),
     __builtin_offsetof(struct rec, __dsu_tag), __dsu_xform_rec},
};

const struct dsu_patch dsu_patch = {
    .magic = DSU_PATCH_MAGIC, .abi = DSU_ABI_VERSION, .program = "typeprog",
    .from_version = "v2", .from_id = "id-t2", .to_version = "v3", .to_id = "id-t3",
    .imports = imports, .nimports = 3, .updates = updates, .nupdates = 3,
    .summary = "changed struct rec: long a, long b, int c, int d",
    .xforms = xforms, .nxforms = 1,
    /* no update points: v3's points are v1's */
};
