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
 *     close of /proc/self/task (also at the update point that takes it),
 *     and openat/read/close of its threads' comm to name them;
 *   - applying a patch: pread64, memfd_create, write, fcntl, and what
 *     dlopen needs (openat of /proc/self/fd/N, read, mmap, mprotect,
 *     munmap, close), brk/mmap for memory;
 *   - making its socket anew (after the program closed it): mkdir,
 *     lstat, socket, bind, listen, connect, unlink, openat/getdents64 of
 *     its own directory, kill(pid, 0), getpid, geteuid.
 * A call a sandbox refuses with an error (SECCOMP_RET_ERRNO) makes the
 * request fail with that error in the answer.
 *
 * Threads.  A patch is installed by one thread at its update point; any
 * other thread would go on running old code on objects that new code
 * converts.  So an update of a process in which more than one thread may
 * run program code (every thread the kernel lists for it, however it was
 * started, except the runtime's control thread) is refused with their
 * ids and names, when the request arrives and again at the update point.
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
