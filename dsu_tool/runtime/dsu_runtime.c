/* dsu_runtime.c -- the part of dsu that lives inside an updateable program.
 *
 * This file is the runtime's one translation unit: it includes its parts
 * (rt_*.c, with the shared state in runtime_state.h) so that everything
 * but the public entry points stays static.
 *
 * The runtime serves requests on a Unix socket only its owner can reach
 * (rt_channel.c), from callers the kernel would let attach a debugger:
 * one request per connection (APPLY or STATUS, see below), one JSON line
 * in answer.  A control thread serves it, or, in polling mode
 * (DSU_CONTROL=poll, for sandboxed programs), the program's own thread at
 * its update points.  An APPLY is checked from the bytes of the file
 * passed with it, loaded and prepared entirely by the channel; the
 * program itself is touched only at an update point (DSU_update() ->
 * dsu__update_point), where the prepared patch is installed by a handful
 * of pointer stores while every thread of the program is known to be at
 * a safe place: parked at an update point, or in a region it declared
 * quiescent (rt_threads.c).
 *
 * Wrapped struct types (see struct dsu_type) change layout lazily: a patch
 * brings a type transformer, the update point only appends it to the
 * type's chain, and each object is converted on its first access by new
 * code (dsu__convert), through every transformer since the layout its tag
 * names.
 *
 * A patch that changes a wrapped type must not be installed where code
 * still running after the update point uses the type's fields in the old
 * layout.  The program and every applied patch list their update points
 * with the wrapped types that are in use there (struct dsu_point); such a
 * patch waits for a point that uses none of the types it changes, and is
 * refused at once when no listed point can take it.
 *
 *   APPLY <timeout_ms> [sha256:<hex>] <absolute path>\n  + the file (SCM_RIGHTS)
 *                                  ->  {"ok":true,"code":"applied",...}
 *   STATUS\n                       ->  {"ok":true,"pid":...,...}
 *
 * Failures answer {"ok":false,"code":C,"reason":R} with C one of
 * "bad-input", "rejected", "timeout".
 */
#define _GNU_SOURCE
#define DSU_UPDATEABLE
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dsu.h"
#include "dsu_internal.h"

#include "runtime_state.h"
#include "rt_sha256.c"
#include "rt_points.c"
#include "rt_threads.c"
#include "rt_update.c"
#include "rt_json.c"
#include "rt_load.c"
#include "rt_apply.c"
#include "rt_status.c"
#include "rt_channel.c"

/* ---- start-up ---------------------------------------------------------- */

/* One state per wrapped type.  A type declared in a header may be listed
 * by several objects of the program; they must agree. */
static void init_types(void)
{
    const struct dsu_type *start = __start_dsu_types, *stop = __stop_dsu_types;
    if (!start || stop <= start)
        return;
    if (!(types = calloc((size_t)(stop - start), sizeof *types))) {
        types_oom = 1;
        return;
    }
    for (const struct dsu_type *e = start; e < stop; e++) {
        if (!e->name)
            continue;
        struct type *t = find_type(e->name);
        if (t) {
            t->conflict |= !same(t->prog->layout, e->layout) || t->prog->tag != e->tag ||
                           t->prog->size != e->size || t->prog->tag_offset != e->tag_offset;
            continue;
        }
        t = &types[ntypes++];
        t->prog = e;
        t->layout = e->layout;
        t->tag = e->tag;
        t->tail = &t->steps;
    }
}

/* The program's own points.  A header's point may be listed by every
 * object that includes it; the entries merge like a patch's. */
static void init_points(void)
{
    const struct dsu_point *start = __start_dsu_points, *stop = __stop_dsu_points;
    if (!start || stop <= start)
        return;
    struct ptable *t = ptable_merge(&no_points, start, (size_t)(stop - start));
    if (t)
        points = t;
    else
        points_oom = 1;
}

__attribute__((constructor)) static void dsu_runtime_init(void)
{
    const struct dsu_sym *start = __start_dsu_syms, *stop = __stop_dsu_syms;
    if (start && stop > start) {
        program_table.syms = start;
        program_table.n = (size_t)(stop - start);
    }
    init_types();
    init_points();
    registry = &program_table;
    cur_version = dsu__program_version;
    cur_id = dsu__program_version_id;
    const char *v = getenv("DSU_VERBOSE");
    verbose = v && strcmp(v, "1") == 0;
    for (int i = 0; i < MAXCONN; i++)
        conns[i].sock.fd = conns[i].patch.fd = -1;
    threads_init();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    start_channel();
}
