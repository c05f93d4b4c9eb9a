/* Patch v1 -> v1b of typeprog.c: show() changes, struct rec does not, so
 * the patch has no type transformer and its code is compiled for the
 * layout the process has.  With BAD=1 it claims a layout no patch made. */
#include <stdio.h>

#include "dsu_internal.h"

#ifndef BAD
#define BAD 0
#endif

#define TAG_V1 0x11111111u

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

static void *__dsu_type_rec;
static int *__dsu_imp_counter;

static int __dsu_v1b_show(struct rec *r, char *buf)
{
    if (((struct dsu_type_state *)__dsu_type_rec)->changed && r->__dsu_tag != TAG_V1)
        dsu__convert(__dsu_type_rec, r, TAG_V1);
    (*__dsu_imp_counter)++;
    return sprintf(buf, "v1b a=%d b=%d", r->a, r->b);
}

static const struct dsu_import imports[] = {
    {"struct rec@typeprog.c", BAD == 1 ? "L-rec-2" : "L-rec-1", DSU_IMPORT_TYPE,
     &__dsu_type_rec},
    {"counter", "h-int", DSU_IMPORT_VAR, (void **)&__dsu_imp_counter},
};
static const struct dsu_update updates[] = {
    {"show", "h-show", (void *)__dsu_v1b_show},
};

const struct dsu_patch dsu_patch = {
    .magic = DSU_PATCH_MAGIC, .abi = DSU_ABI_VERSION, .program = "typeprog",
    .from_version = "v1", .from_id = "id-t1", .to_version = "v1b", .to_id = "id-t1b",
    .imports = imports, .nimports = 2, .updates = updates, .nupdates = 1,
    .summary = "changed show",
};
