/* Patch v2 -> v3 of prog.c: greet() uses bonus(), which exists only since
 * v2 (a def of patch_v1_v2), and calls itself through its stub (the
 * function's address in the program) for negative arguments. */
#include "dsu_internal.h"

static int *__dsu_imp_hits;
static int (**__dsu_imp_bonus)(int);
static int (*__dsu_imp_greet)(int); /* the stub: calls go through the slot */

static int __dsu_v3_greet(int x)
{
    if (x < 0)
        return __dsu_imp_greet(-x);
    (*__dsu_imp_hits)++;
    return (*__dsu_imp_bonus)(x);
}

static const struct dsu_import imports[] = {
    {"hits", "h-int", DSU_IMPORT_VAR, (void **)&__dsu_imp_hits},
    {"bonus", "h-int(int)", DSU_IMPORT_SLOT, (void **)&__dsu_imp_bonus},
    {"greet", "h-int(int)", DSU_IMPORT_STUB, (void **)&__dsu_imp_greet},
};
static const struct dsu_update updates[] = {
    {"greet", "h-int(int)", (void *)__dsu_v3_greet},
};

const struct dsu_patch dsu_patch = {
    .magic = DSU_PATCH_MAGIC, .abi = DSU_ABI_VERSION, .program = "testprog",
    .from_version = "v2", .from_id = "id-v2-9c31", .to_version = "v3", .to_id = "id-v3-77d0",
    .imports = imports, .nimports = 3, .updates = updates, .nupdates = 1,
    .summary = "changed greet: bonus(|x|)",
};
