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
    .magic = DSU_PATCH_MAGIC, .abi = DSU_ABI_VERSION, .program = "testprog",
    .from_version = "v2", .from_id = "id-v2-9c31", .to_version = "v1", .to_id = "id-v1-5e7a",
    .imports = imports, .nimports = 1, .updates = updates, .nupdates = 1,
    .summary = "changed greet: x + 1",
};
