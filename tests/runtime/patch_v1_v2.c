/* Patch v1 -> v2 of prog.c, in the shape patchgen emits: greet() gets a
 * new body that calls the program's twice() through its slot and counts
 * in the program's `hits`; bonus() is a new updateable function that
 * later patches can import. */
#include "dsu_internal.h"

static int *__dsu_imp_hits;
static int (**__dsu_imp_twice)(int);

static int __dsu_v2_greet(int x)
{
    (*__dsu_imp_hits)++;
    return (*__dsu_imp_twice)(x) + 1000;
}

static int __dsu_body_bonus(int x) { return 7 * x; }
int (*__dsu_slot_bonus)(int) = __dsu_body_bonus;
int bonus(int);
__asm__(".text\n.globl bonus\n.type bonus,@function\nbonus:\n\tendbr64\n"
        "\tmovq __dsu_slot_bonus@GOTPCREL(%rip), %r11\n\tjmp *(%r11)\n.size bonus, .-bonus\n");

static const struct dsu_sym defs[] = {
    {"bonus", "h-int(int)", "prog.c", DSU_FUNC, 0, (void **)&__dsu_slot_bonus, (void *)bonus},
};
static const struct dsu_import imports[] = {
    {"hits", "h-int", DSU_IMPORT_VAR, (void **)&__dsu_imp_hits},
    {"twice", "h-int(int)", DSU_IMPORT_SLOT, (void **)&__dsu_imp_twice},
};
static const struct dsu_update updates[] = {
    {"greet", "h-int(int)", (void *)__dsu_v2_greet},
};

const struct dsu_patch dsu_patch = {
    .magic = DSU_PATCH_MAGIC, .abi = DSU_ABI_VERSION, .program = "testprog",
    .from_version = "v1", .from_id = "id-v1-5e7a", .to_version = "v2", .to_id = "id-v2-9c31",
    .defs = defs, .ndefs = 1, .imports = imports, .nimports = 2,
    .updates = updates, .nupdates = 1,
    .summary = "changed greet: 2*x + 1000\nadded bonus",
    /* no type or state transformers, no update points */
};
