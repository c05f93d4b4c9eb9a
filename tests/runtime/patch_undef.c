/* A patch from v1 that needs a symbol nothing defines: dlopen (RTLD_NOW)
 * fails and the runtime must refuse it as not for this process. */
#include "dsu_internal.h"

extern int dsu_test_not_there(int);

static int new_greet(int x) { return dsu_test_not_there(x); }

static const struct dsu_update updates[] = {{"greet", "h-int(int)", (void *)new_greet}};

const struct dsu_patch dsu_patch = {
    DSU_PATCH_MAGIC, DSU_ABI_VERSION, "testprog",
    "v1", "id-v1-5e7a", "v2", "id-v2-9c31",
    0, 0, 0, 0, updates, 1,
    "needs a missing symbol",
    0, 0, 0, 0, /* no type or state transformers */
    0, 0,       /* no update points */
};
