/* rt_threads.c -- the threads of the process, as far as updates go.
 *
 * A patch is installed by one thread at its update point.  Any other
 * thread still running program code would go on running the code it is
 * in, and could write, in the old layout, an object that new code has
 * just converted: a silent corruption.  So a patch is installed only
 * while every thread that may run program code waits where that is safe:
 * parked at an update point of its own (DSU_update()), or inside a region
 * the program declared quiescent (DSU_quiescent_begin() ..
 * DSU_quiescent_end(), around a blocking wait that touches no program
 * data).  The installing thread is the last to arrive at an update
 * point; the others are released once it is done.
 *
 * Which threads may run program code is taken from the kernel's own list
 * (/proc/self/task), not from what the runtime saw being created:
 * threads that a library starts (and that may call back into the
 * program) and threads made without pthread_create count too.  Only the
 * runtime's control thread is left out.  A thread takes part in updates
 * once it has reached an update point while a request was pending, or
 * entered a quiescent region; a request waits (without parking anybody)
 * until every listed thread takes part, and is refused when one never
 * does before its time runs out.
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

static void sb_thread(struct sbuf *b, pid_t tid)
{
    char name[32];
    thread_name(tid, name, sizeof name);
    sb_fmt(b, "%ld", (long)tid);
    if (name[0])
        sb_fmt(b, " \"%s\"", name);
}

/* ---- the threads that take part ---------------------------------------- */

enum { T_RUN, T_PARKED, T_QUIET };

/* A thread that takes part in updates.  `state` is the thread's own,
 * written with sequential consistency (see ready_to_install); `file` and
 * `line` are written before it, read after it. */
struct thr {
    struct thr *next; /* owner: lock */
    pid_t tid;
    int state;
    const char *file; /* T_PARKED, T_QUIET: where */
    int line;
    int seen;         /* owner: lock, for census */
};

static __thread struct thr *self_rec;
static struct thr *threads; /* owner: lock */
static pthread_key_t thr_key; /* its destructor drops a thread that exits */
static int thr_key_ok;
static pthread_cond_t park_cv = PTHREAD_COND_INITIALIZER; /* with lock */
/* Non-zero while a patch is being installed: a thread leaving a quiescent
 * region waits until it is done. */
static int stopping;

static void thr_drop(void *arg)
{
    struct thr *t = arg;
    pthread_mutex_lock(&lock);
    for (struct thr **l = &threads; *l; l = &(*l)->next)
        if (*l == t) {
            *l = t->next;
            break;
        }
    pthread_cond_broadcast(&park_cv); /* one fewer to wait for */
    pthread_mutex_unlock(&lock);
    free(t);
}

static void threads_init(void)
{
    thr_key_ok = pthread_key_create(&thr_key, thr_drop) == 0;
}

/* The calling thread's record, listed from now on; NULL when out of
 * memory (the thread then counts as taking no part).  With lock held. */
static struct thr *thr_self_locked(void)
{
    struct thr *t = self_rec;
    if (t || !thr_key_ok || !(t = calloc(1, sizeof *t)))
        return t;
    t->tid = current_tid();
    t->next = threads;
    threads = t;
    self_rec = t;
    pthread_setspecific(thr_key, t);
    return t;
}

/* After fork() only the calling thread exists. */
static void threads_after_fork(void)
{
    threads = NULL;
    if (self_rec) {
        self_rec->tid = current_tid();
        self_rec->next = NULL;
        self_rec->state = T_RUN;
        threads = self_rec;
    }
    pthread_cond_init(&park_cv, NULL);
    if (req.state != TAKEN)
        stopping = 0;
}

/* ---- census ------------------------------------------------------------ */

#define MAX_NAMED 8

struct census {
    int total;     /* threads that may run program code */
    int outsiders; /* of them, those that take no part */
    pid_t named[MAX_NAMED];
};

/* Lists the threads of the process (all but the control thread) and
 * which of them take no part in updates; forgets the records of threads
 * that are gone without saying so.  With lock held.  -1, with the reason
 * in WHY, when the kernel's list cannot be read (no /proc in the
 * process's root, a sandbox): nothing can be known then, and the update
 * is refused. */
static int census(struct census *c, struct sbuf *why)
{
    pid_t control = __atomic_load_n(&control_tid, __ATOMIC_ACQUIRE);
    memset(c, 0, sizeof *c);
    for (struct thr *t = threads; t; t = t->next)
        t->seen = 0;
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
            c->total++;
            struct thr *t = threads;
            while (t && t->tid != (pid_t)tid)
                t = t->next;
            if (t) {
                t->seen = 1;
            } else {
                if (c->outsiders < MAX_NAMED)
                    c->named[c->outsiders] = (pid_t)tid;
                c->outsiders++;
            }
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
    /* a thread that ended without its key's destructor (it called the
     * exit system call itself) */
    for (struct thr **l = &threads; *l;) {
        struct thr *t = *l;
        if (t->seen || t == self_rec) {
            l = &t->next;
        } else {
            *l = t->next;
            free(t);
        }
    }
    return 0;
}

/* Why the outsiders counted by C keep the update from being installed. */
static void explain_outsiders(const struct census *c, struct sbuf *why, long long waited_ms)
{
    sb_fmt(why, "the process runs %d threads that may run program code, and %d of them (",
           c->total, c->outsiders);
    for (int i = 0; i < c->outsiders && i < MAX_NAMED; i++) {
        sb_fmt(why, "%s", i ? ", " : "");
        sb_thread(why, c->named[i]);
    }
    sb_fmt(why, "%s) never reached an update point or a quiescent region in %lld ms: a "
           "patch is installed only while every such thread waits at DSU_update() or "
           "between DSU_quiescent_begin() and DSU_quiescent_end() (see dsu.h), since code "
           "still running in another thread could use objects the new code converts in "
           "their old layout; nothing was changed", c->outsiders > MAX_NAMED ? ", ..." : "",
           waited_ms);
}

/* ---- stopping them --------------------------------------------------- */

/* Whether P may be installed while a thread waits at FILE:LINE: a patch
 * that changes no type always; else only where the tables say code still
 * running there uses none of the types it changes. */
static int point_safe(const struct dsu_patch *p, const char *file, int line)
{
    if (!p->nxforms)
        return 1;
    const struct upoint *pt = ptable_find(points, file, (unsigned)line);
    return pt && !conflicts(pt, p);
}

/* Whether every listed thread waits where P may be installed.  With lock
 * held. */
static int all_stopped(const struct dsu_patch *p)
{
    for (struct thr *t = threads; t; t = t->next) {
        int s = __atomic_load_n(&t->state, __ATOMIC_SEQ_CST);
        if (s == T_PARKED)
            continue;
        if (s == T_QUIET && point_safe(p, t->file, t->line))
            continue;
        return 0;
    }
    return 1;
}

/* Whether P can be installed now, by the calling thread (parked): every
 * thread that may run program code takes part and waits where P may be
 * installed.  If so, `stopping` is set: a thread leaving its quiescent
 * region now waits until the update is done.  The thread's store of its
 * state and its load of `stopping`, like our store of `stopping` and our
 * loads of the states, are sequentially consistent: either it sees
 * `stopping`, or we see it running.  With lock held. */
static int ready_to_install(const struct dsu_patch *p)
{
    struct census c;
    char why[8];
    struct sbuf b = {why, sizeof why, 0};
    if (!all_stopped(p) || census(&c, &b) < 0 || c.outsiders > 0)
        return 0;
    __atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
    if (all_stopped(p))
        return 1;
    __atomic_store_n(&stopping, 0, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&park_cv);
    return 0;
}

/* Into WHY: the listed threads that do not wait where P may be
 * installed.  With lock held. */
static void explain_running(const struct dsu_patch *p, struct sbuf *why)
{
    int n = 0;
    for (struct thr *t = threads; t; t = t->next) {
        int s = __atomic_load_n(&t->state, __ATOMIC_SEQ_CST);
        if (s == T_PARKED || (s == T_QUIET && point_safe(p, t->file, t->line)))
            continue;
        sb_fmt(why, "%sthread ", n++ ? "; " : "");
        sb_thread(why, t->tid);
        if (s == T_QUIET)
            sb_fmt(why, " waits in the quiescent region of %s:%d, where the patch cannot be "
                   "installed", t->file, t->line);
        else
            sb_fmt(why, " did not come to an update point");
    }
}

/* ---- the program's interface ------------------------------------------ */

void dsu__quiescent_begin(const char *file, int line)
{
    struct thr *t = self_rec;
    if (!t) {
        pthread_mutex_lock(&lock);
        t = thr_self_locked();
        pthread_mutex_unlock(&lock);
        if (!t)
            return;
    }
    if (__atomic_load_n(&t->state, __ATOMIC_RELAXED) == T_PARKED)
        return; /* a state transformer of the update it installs */
    t->file = file;
    t->line = line;
    __atomic_store_n(&t->state, T_QUIET, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&dsu__pending, __ATOMIC_SEQ_CST)) {
        /* the threads parked at update points may have waited for this one */
        pthread_mutex_lock(&lock);
        if (req.state == PENDING)
            pthread_cond_broadcast(&park_cv);
        pthread_mutex_unlock(&lock);
    }
}

void dsu__quiescent_end(void)
{
    struct thr *t = self_rec;
    if (!t || __atomic_load_n(&t->state, __ATOMIC_RELAXED) == T_PARKED)
        return;
    __atomic_store_n(&t->state, T_RUN, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&stopping, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&lock);
        while (__atomic_load_n(&stopping, __ATOMIC_RELAXED))
            pthread_cond_wait(&park_cv, &lock);
        pthread_mutex_unlock(&lock);
    }
}
