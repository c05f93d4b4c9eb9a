/* Patch v1 -> v1b of pointprog.c: only label() changes, so the patch may
 * apply at any update point.  The points of v1b it lists overlap v1's:
 * where they name the same place, the runtime must keep both sets (code of
 * either version may be running there); aux.c:7 is a place v1 lacks. */
#include <stddef.h>

#include "dsu_internal.h"

static const char *__dsu_v1b_label(void) { return "fn"; }

static const struct dsu_update updates[] = {
    {"label", "h-label", (void *)__dsu_v1b_label},
};
static const char *const __dsu_restricted_0[] = {"struct rec@pointprog.c", NULL};
static const char *const __dsu_restricted_1[] = {"struct rec@pointprog.c",
                                                 "struct other@pointprog.c", NULL};
static const char *const __dsu_restricted_2[] = {"struct rec@pointprog.c", NULL};
static const struct dsu_point points[] = {
    {"pointprog.c", LOOP_LINE, 0, "main", __dsu_restricted_0},
    {"pointprog.c", WORK_LINE, 0, "work", __dsu_restricted_1},
    {"aux.c", 7, 0, "poll_aux", __dsu_restricted_2},
};

const struct dsu_patch dsu_patch = {
    .magic = DSU_PATCH_MAGIC, .abi = DSU_ABI_VERSION, .program = "pointprog",
    .from_version = "v1", .from_id = "id-p1", .to_version = "v1b", .to_id = "id-p1b",
    .updates = updates, .nupdates = 1,
    .summary = "changed label",
    .points = points, .npoints = 3,
};
