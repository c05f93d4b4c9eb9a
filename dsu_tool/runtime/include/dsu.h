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
 *
 * Who may update a process: a caller the kernel would let attach a
 * debugger to it (the same uid and gid as its real, effective and saved
 * ones while it is dumpable, or CAP_SYS_PTRACE), over the socket
 * /tmp/dsu-<euid>/<pid>-<pidns>.sock in a directory only its owner can
 * enter, with a patch file that only the process's user or root can
 * write and that runs none of its code when loaded.
 *
 * Sandboxed programs.  By default a control thread (named dsu-control)
 * serves requests; while nobody asks it wakes from poll() once a second
 * to fstat() its socket (a program may have closed it).  With
 * DSU_CONTROL=poll in its environment the process has no such thread:
 * its own threads serve requests at their update points (at most every
 * 20 ms, without waiting), so requests wait for the next update point.
 * `dsu` refuses, with the reason, a process whose control thread runs
 * under a seccomp filter.  The system calls the runtime makes:
 *   - at an update point with nothing to do: none in thread mode (futex
 *     only when its lock is contended while a request is posted); in
 *     polling mode, every 20 ms, poll and fstat (newfstatat);
 *   - serving a request: poll, accept4, getsockopt, recvmsg, sendto,
 *     close, fstat/newfstatat, openat/read/close of /proc/<pid>/status,
 *     getresuid, getresgid, prctl(PR_GET_DUMPABLE); openat/getdents64/
 *     close of /proc/self/task (also at the update points that take
 *     it), gettid (once per thread, the first time it takes part), and
 *     openat/read/close of its threads' comm to name them;
 *   - applying a patch: pread64, memfd_create, write, fcntl, and what
 *     dlopen needs (openat of /proc/self/fd/N, read, mmap, mprotect,
 *     munmap, close), brk/mmap for memory;
 *   - making its socket anew (after the program closed it): mkdir,
 *     lstat, socket, bind, listen, connect, unlink, openat/getdents64 of
 *     its own directory, kill(pid, 0), getpid, geteuid.
 * A call a sandbox refuses with an error (SECCOMP_RET_ERRNO) makes the
 * request fail with that error in the answer.
 *
 * Threads.  A patch is installed only while every thread that may run
 * program code (every thread the kernel lists for the process, however
 * it was started, except the runtime's control thread) waits where that
 * is safe: at its own DSU_update(), or in a quiescent region (below).
 * Each thread that reaches a safe update point while a request is
 * pending parks there; the last one installs the patch; all go on with
 * the new code.  A thread takes part once it has come to DSU_update()
 * during a request or entered a quiescent region.  While some thread
 * takes no part nobody parks, and if it still has not when the request's
 * time runs out, the update is refused with its id and name (nothing
 * changed); a thread that takes part but does not arrive in time makes
 * the request time out.  Parked threads wait at most that long.
 */
#ifndef DSU_H
#define DSU_H

#ifdef DSU_UPDATEABLE

/* In a struct definition (`struct hdr { ... } DSU_FIXED;`): keep the
 * struct's layout exactly as written, and a patch cannot change it.  The
 * build does this by itself for structs whose size or bytes the program
 * observes (written to files, compared with lengths); DSU_FIXED says so
 * where it cannot see it (bytes written through a wrapper it does not
 * know). */
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

/* Quiescent regions (see DSU_quiescent_begin below); FILE and LINE name
 * the region's start, as for an update point. */
void dsu__quiescent_begin(const char *file, int line);
void dsu__quiescent_end(void);

#ifdef __cplusplus
}
#endif

/* A relaxed atomic load: one plain load on common hardware, and no data
 * race with the runtime's control thread that sets the flag. */
#define DSU_update()                                                       \
    ((void)(__builtin_expect(__atomic_load_n(&dsu__pending,                \
                                             __ATOMIC_RELAXED), 0)         \
                ? (dsu__update_point(__FILE__, __LINE__), 0) : 0))

/* Around a wait that may block for long and touches no program data
 * (poll, accept, read on a socket, pthread_cond_wait, sem_wait ...):
 *
 *     DSU_quiescent_begin();
 *     n = poll(fds, nfds, -1);
 *     DSU_quiescent_end();
 *
 * While a thread is in between, a patch may be installed without it
 * coming to an update point; leaving the region while one is being
 * installed waits until it is done.  The code in between must not use
 * program data nor call program functions (nor may callbacks run there),
 * and the two calls must pair in the same function, not nested.  The
 * region's start counts as an update point of that function for the
 * updateability analysis: a patch that changes a type the function (or
 * its callers) uses is not installed while a thread waits there.  Cost:
 * an atomic exchange and a load each, around a blocking call. */
#define DSU_quiescent_begin() dsu__quiescent_begin(__FILE__, __LINE__)
#define DSU_quiescent_end() dsu__quiescent_end()

#else /* ordinary build */

#define DSU_update() ((void)0)
#define DSU_quiescent_begin() ((void)0)
#define DSU_quiescent_end() ((void)0)
#define DSU_FIXED

#endif /* DSU_UPDATEABLE */

#endif /* DSU_H */
