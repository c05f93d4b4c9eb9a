/* dsu.h -- the public interface of the dsu runtime.
 *
 * A program marks the places where it is safe to update it with
 *
 *     DSU_update();
 *
 * typically once per iteration of its main loop.  In an ordinary build
 * (without `scons dsu=1`) the macro compiles to nothing.  In an updateable
 * build it costs one load and one predictable branch until an update has
 * been requested with `dsu apply PID PATCH`; the runtime then applies the
 * patch there, and the call returns once the new code is installed.
 */
#ifndef DSU_H
#define DSU_H

#ifdef DSU_UPDATEABLE

/* In a struct definition (`struct hdr { ... } DSU_FIXED;`): keep the
 * struct's layout exactly as written.  Its size can then be observed
 * (written to files, compared with lengths), but a patch cannot change
 * it. */
#define DSU_FIXED __attribute__((__dsu_fixed__))

#ifdef __cplusplus
extern "C" {
#endif

/* Non-zero while a prepared patch waits for an update point. */
extern volatile int dsu__pending;

/* Applies the pending patch if it is safe here; FILE and LINE name the
 * update point in messages and in the version manifest. */
void dsu__update_point(const char *file, int line);

/* The version the process runs now, e.g. "v2". */
const char *dsu_version(void);

#ifdef __cplusplus
}
#endif

/* A relaxed atomic load: one plain load on common hardware, and no data
 * race with the runtime's control thread that sets the flag. */
#define DSU_update()                                                       \
    ((void)(__builtin_expect(__atomic_load_n(&dsu__pending,                \
                                             __ATOMIC_RELAXED), 0)         \
                ? (dsu__update_point(__FILE__, __LINE__), 0) : 0))

#else /* ordinary build */

#define DSU_update() ((void)0)
#define DSU_FIXED

#endif /* DSU_UPDATEABLE */

#endif /* DSU_H */
