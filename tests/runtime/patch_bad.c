/* Patches from v1 that the runtime must refuse, one per value of BAD:
 *   1 imports a definition the program does not have
 *   2 updates greet() with a different type hash
 *   3 imports the variable `hits` as a function
 *   4 has a wrong magic number
 *   5 was built for another runtime ABI
 *   6 was built for ABI 1 (before wrapped types)
 *   7 was built for ABI 2 (before update points) */
#include "dsu_internal.h"

static void *cell;

static int new_greet(int x) { return x; }

#if BAD == 1
#define IMPORT {"nosuch", "h-int(int)", DSU_IMPORT_SLOT, &cell}
#elif BAD == 3
#define IMPORT {"hits", "h-int", DSU_IMPORT_SLOT, &cell}
#else
#define IMPORT {"twice", "h-int(int)", DSU_IMPORT_SLOT, &cell}
#endif

#if BAD == 2
#define HASH "h-long(long)"
#else
#define HASH "h-int(int)"
#endif

static const struct dsu_import imports[] = {IMPORT};
static const struct dsu_update updates[] = {{"greet", HASH, (void *)new_greet}};

const struct dsu_patch dsu_patch = {
    .magic = BAD == 4 ? 0x12345678u : DSU_PATCH_MAGIC,
    .abi = BAD == 5 ? 99u : BAD == 6 ? 1u : BAD == 7 ? 3u : DSU_ABI_VERSION,
    .program = "testprog",
    .from_version = "v1", .from_id = "id-v1-5e7a", .to_version = "v2", .to_id = "id-v2-9c31",
    .imports = imports, .nimports = 1, .updates = updates, .nupdates = 1,
    .summary = "bad",
    /* no definitions, type or state transformers, update points or new types */
};
