/* Patch v2 -> v1 of prog.c: greet() gets its v1 body back. */
#include "dsu_internal.h"

static int *__dsu_imp_hits;

static int __dsu_v1_greet(int x)
{
    (*__dsu_imp_hits)++;
    return x + 1;
}

static const struct dsu_import imports[] = {
    {"hits", "h-int", DSU_IMPORT_VAR, (void **)&__dsu_imp_hits},
};
static const struct dsu_update updates[] = {
    {"greet", "h-int(int)", (void *)__dsu_v1_greet},
};

const struct dsu_patch dsu_patch = {
    DSU_PATCH_MAGIC, DSU_ABI_VERSION, "testprog",
    "v2", "id-v2-9c31", "v1", "id-v1-5e7a",
    0, 0, imports, 1, updates, 1,
    "changed greet: x + 1",
    0, 0, 0, 0, /* no type or state transformers */
    0, 0,       /* no update points */
};
