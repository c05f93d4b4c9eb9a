/* rt_threads.c -- the threads of the process, as far as updates go.
 *
 * An update is installed by one thread at its update point.  Every other
 * thread that may run program code keeps running the code it is in, and
 * nothing stops it from writing, in the old layout, an object that new
 * code has just converted: a silent corruption.  So the runtime counts
 * the threads of the process from the kernel's own list (/proc/self/task)
 * rather than from what it saw being created: threads that a library
 * starts (and that may call back into the program) and threads made
 * without pthread_create count too.  Only its own control thread is left
 * out.  A process with more than one such thread is refused, with their
 * ids and names, when the request arrives and again at the update point
 * that would install it (a thread may have been started in between; none
 * can start while it installs: the others are gone, the control thread
 * starts none).
 * Part of the single translation unit dsu_runtime.c (everything stays
 * static there); not compiled on its own. */

/* The runtime's control thread, 0 while there is none (polling mode).
 * Written by that thread before it serves anything. */
static pid_t control_tid;

static pid_t current_tid(void) { return (pid_t)syscall(SYS_gettid); }

/* The name a thread gave itself (pthread_setname_np), into NAME. */
static void thread_name(pid_t tid, char *name, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/comm", (long)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t r = fd >= 0 ? read(fd, name, n - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (r <= 0)
        r = 0;
    name[r] = '\0';
    name[strcspn(name, "\n")] = '\0';
}

/* The threads of the process that may run program code: all but the
 * control thread.  When there are more than one, writes into WHY why that
 * forbids an update.  -1 when the kernel's list cannot be read (no /proc
 * in the process's root, a sandbox): then nothing can be known, and the
 * update is refused as well, with the reason in WHY. */
static int program_threads(struct sbuf *why)
{
    pid_t list[8], control = __atomic_load_n(&control_tid, __ATOMIC_ACQUIRE);
    int n = 0;
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        sb_fmt(why, "cannot list the threads of the process (/proc/self/task: %s): an update "
               "is only safe when no other thread runs program code; nothing was changed",
               strerror(errno));
        return -1;
    }
    /* getdents64 on a buffer of our own: no allocation at an update point */
    char buf[4096] __attribute__((aligned(8)));
    long got;
    while ((got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < got;) {
            struct {
                uint64_t ino;
                int64_t off;
                unsigned short reclen;
                unsigned char type;
                char name[];
            } *e = (void *)(buf + off);
            off += e->reclen;
            char *end;
            long tid = strtol(e->name, &end, 10);
            if (*end || tid <= 0 || tid == (long)control)
                continue;
            if (n < (int)(sizeof list / sizeof *list))
                list[n] = (pid_t)tid;
            n++;
        }
    }
    int err = errno;
    close(fd);
    if (got < 0) {
        sb_fmt(why, "cannot list the threads of the process (/proc/self/task: %s): an update "
               "is only safe when no other thread runs program code; nothing was changed",
               strerror(err));
        return -1;
    }
    if (n <= 1)
        return n;
    sb_fmt(why, "the process runs %d threads that may run program code (", n);
    for (int i = 0; i < n && i < (int)(sizeof list / sizeof *list); i++) {
        char name[32];
        thread_name(list[i], name, sizeof name);
        sb_fmt(why, "%s%ld", i ? ", " : "", (long)list[i]);
        if (name[0])
            sb_fmt(why, " \"%s\"", name);
    }
    if (n > (int)(sizeof list / sizeof *list))
        sb_fmt(why, ", ...");
    sb_fmt(why, "): the patch would be installed by one of them at its update point while "
           "the others go on running old code, which could use objects the new code has "
           "converted in their old layout; updating a process with several threads is "
           "refused, nothing was changed");
    return n;
}
