/* Patch v1 -> v2 of pointprog.c, in the shape patchgen emits: struct rec
 * changes layout to { long b; int a; int c; }, and work(), which reads its
 * fields, gets a new body that converts an object before using it.  The
 * patch lists the update points of v2 (the same places as v1's; the test
 * passes their lines as WORK_LINE and LOOP_LINE).
 *
 * With FROM_V1B it applies to v1b (pointprog after patch_pfn.c). */
#include <stdio.h>
#include <string.h>

#include "dsu_internal.h"

#define TAG_V1 0x11111111u
#define TAG_V2 0x22222222u

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

static void *__dsu_type_rec;
static const char *(**__dsu_imp_label)(void);

static int __dsu_xform_rec(void *obj)
{
    struct __dsu_old_rec old;
    struct rec *r = obj;
    memcpy(&old, obj, sizeof old);
    memset(r->__dsu_room, 0, sizeof r->__dsu_room);
    r->a = old.a;
    r->b = old.b;
    r->c = 0;
    return 0;
}

static void __dsu_v2_work(struct rec *r)
{
    if (((struct dsu_type_state *)__dsu_type_rec)->changed && r->__dsu_tag != TAG_V2)
        dsu__convert(__dsu_type_rec, r, TAG_V2);
    printf("%s a=%d b=%ld c=%d\n", (*__dsu_imp_label)(), r->a, r->b, r->c);
}

static const struct dsu_import imports[] = {
    {"struct rec@pointprog.c", "L-prec-2", DSU_IMPORT_TYPE, &__dsu_type_rec},
    {"label", "h-label", DSU_IMPORT_SLOT, (void **)&__dsu_imp_label},
};
static const struct dsu_update updates[] = {
    {"work", "h-work", (void *)__dsu_v2_work},
};
static const struct dsu_xform xforms[] = {
    {"struct rec@pointprog.c", "L-prec-1", "L-prec-2", TAG_V1, TAG_V2, sizeof(struct rec),
     __builtin_offsetof(struct rec, __dsu_tag), __dsu_xform_rec},
};
static const char *const __dsu_restricted_0[] = {"struct rec@pointprog.c", NULL};
static const char *const __dsu_restricted_1[] = {NULL};
static const struct dsu_point points[] = {
    {"pointprog.c", WORK_LINE, 0, "work", __dsu_restricted_0},
    {"pointprog.c", LOOP_LINE, 0, "main", __dsu_restricted_1},
};

const struct dsu_patch dsu_patch = {
    .magic = DSU_PATCH_MAGIC, .abi = DSU_ABI_VERSION, .program = "pointprog",
#if FROM_V1B
    .from_version = "v1b", .from_id = "id-p1b",
#else
    .from_version = "v1", .from_id = "id-p1",
#endif
    .to_version = "v2", .to_id = "id-p2",
    .imports = imports, .nimports = 2, .updates = updates, .nupdates = 1,
    .summary = "changed struct rec: long b, int a, int c",
    .xforms = xforms, .nxforms = 1,
    .points = points, .npoints = 2,
};
