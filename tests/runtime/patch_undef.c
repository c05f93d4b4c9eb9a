/* A patch from v1 that needs a symbol nothing defines: dlopen (RTLD_NOW)
 * fails and the runtime must refuse it as not for this process. */
#include "dsu_internal.h"

extern int dsu_test_not_there(int);

static int new_greet(int x) { return dsu_test_not_there(x); }

static const struct dsu_update updates[] = {{"greet", "h-int(int)", (void *)new_greet}};

const struct dsu_patch dsu_patch = {
    .magic = DSU_PATCH_MAGIC, .abi = DSU_ABI_VERSION, .program = "testprog",
    .from_version = "v1", .from_id = "id-v1-5e7a", .to_version = "v2", .to_id = "id-v2-9c31",
    .updates = updates, .nupdates = 1,
    .summary = "needs a missing symbol",
};
