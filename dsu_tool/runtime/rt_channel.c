/* rt_channel.c -- the control channel: its socket, who may use it,
 * serving requests, the control thread (or polling at update points) and
 * fork handling.
 *
 * The channel is a Unix socket /tmp/dsu-<euid>/<pid>-<pidns>.sock in a directory
 * that only its owner can enter (mode 0700, checked), so other users
 * cannot even connect; the CLI finds it through /proc/<pid>/fd and
 * /proc/<pid>/net/unix and reaches it through /proc/<pid>/root, whatever
 * the target's root, mount or pid namespace.  Every peer is checked again
 * from its kernel-reported credentials (SO_PEERCRED) by the kernel's rule
 * for attaching a debugger (see authorise).
 *
 * Connections are served side by side by one poll() loop: each has a
 * short deadline for its request line and for taking its answer, so a
 * silent or slow caller delays nobody.  An APPLY carries the patch as an
 * open file (SCM_RIGHTS); while it waits for an update point, the loop
 * goes on serving others, and withdraws it when its time runs out or its
 * client goes away.
 * Part of the single translation unit dsu_runtime.c (everything stays
 * static there); not compiled on its own. */

/* ---- the socket -------------------------------------------------------- */

#define REQUEST_MS 2000 /* for a request line to arrive, for an answer to leave */
#define MAXCONN 16

/* Owner: the channel (control thread, or the polling program thread). */
static long long next_listen;
static long long accept_pause; /* accept4 failed: not before then */
static char last_report[300];
static pthread_mutex_t chan_lock = PTHREAD_MUTEX_INITIALIZER;

/* Says on stderr, once until things change, why this process cannot be
 * updated: never silent, whatever DSU_VERBOSE says. */
static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
    char msg[sizeof last_report];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (strcmp(msg, last_report) == 0)
        return;
    memcpy(last_report, msg, sizeof msg);
    fprintf(stderr, "dsu: %s\n", msg);
}

static int listener_alive(void)
{
    struct stat st;
    return lfd >= 0 && fstat(lfd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == l_dev &&
           st.st_ino == l_ino;
}

/* The directory of the socket, made if need be: it must be a directory of
 * this user that nobody else can enter. */
static int socket_dir(char *dir, size_t n)
{
    uid_t u = geteuid();
    struct stat st;
    snprintf(dir, n, "/tmp/dsu-%u", (unsigned)u);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        report("cannot create %s (%s): this process cannot be updated", dir, strerror(errno));
        return -1;
    }
    if (lstat(dir, &st) < 0) {
        report("cannot use %s (%s): this process cannot be updated", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != u || (st.st_mode & 077)) {
        report("%s is not a private directory of uid %u (owner uid %u, mode %04o); this "
               "process cannot be updated until it is removed", dir, (unsigned)u,
               (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

/* Sockets of processes of this pid namespace that are gone: a process
 * leaves its socket behind (the runtime adds nothing to the program's
 * exit), the next one of the same user clears them. */
static void clear_stale(const char *dir, unsigned long ns)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        long pid;
        unsigned long their_ns;
        char end;
        if (sscanf(e->d_name, "%ld-%lu.soc%c", &pid, &their_ns, &end) != 3 || end != 'k' ||
            their_ns != ns || pid <= 0 || pid == (long)getpid() ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        unlinkat(dirfd(d), e->d_name, 0);
    }
    if (d)
        closedir(d);
}

static int listen_now(void)
{
    char dir[64];
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    struct stat st;
    if (socket_dir(dir, sizeof dir) < 0)
        return -1;
    /* with the pid namespace in the name, processes of several namespaces
     * sharing /tmp get distinct sockets */
    if (stat("/proc/self/ns/pid", &st) == 0) {
        snprintf(a.sun_path, sizeof a.sun_path, "%s/%ld-%lu.sock", dir, (long)getpid(),
                 (unsigned long)st.st_ino);
        clear_stale(dir, (unsigned long)st.st_ino);
    } else
        snprintf(a.sun_path, sizeof a.sun_path, "%s/%ld.sock", dir, (long)getpid());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        report("cannot create the control socket (%s): this process cannot be updated",
               strerror(errno));
        return -1;
    }
    int r = bind(fd, (struct sockaddr *)&a, sizeof a);
    if (r < 0 && errno == EADDRINUSE) {
        /* left by a process that had this pid before, unless one listens */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 && connect(probe, (struct sockaddr *)&a, sizeof a) == 0;
        if (probe >= 0)
            close(probe);
        if (!live && unlink(a.sun_path) == 0)
            r = bind(fd, (struct sockaddr *)&a, sizeof a);
        else
            errno = EADDRINUSE;
    }
    if (r < 0 || listen(fd, 64) < 0 || fstat(fd, &st) < 0) {
        report("cannot listen on %s (%s): this process cannot be updated", a.sun_path,
               strerror(errno));
        close(fd);
        return -1;
    }
    l_dev = st.st_dev;
    l_ino = st.st_ino;
    lfd = fd;
    last_report[0] = '\0';
    return 0;
}

/* ---- who may update this process --------------------------------------- */

/* Whether the peer has CAP_SYS_PTRACE, from /proc; *KNOWN is 0 when /proc
 * cannot tell (no /proc, or the peer is in a pid namespace we cannot see). */
static int peer_may_trace_anyone(const struct ucred *cr, int *known)
{
    char path[64], line[256];
    unsigned long long caps = 0;
    unsigned uids[4];
    int got_caps = 0, got_uid = 0;
    *known = 0;
    if (cr->pid <= 0)
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/status", (long)cr->pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "Uid: %u %u %u %u", &uids[0], &uids[1], &uids[2], &uids[3]) == 4)
            got_uid = 1;
        else if (sscanf(line, "CapEff: %llx", &caps) == 1)
            got_caps = 1;
    }
    fclose(f);
    /* the peer's effective uid, else the pid is no longer the peer's */
    if (!got_uid || !got_caps || uids[1] != cr->uid)
        return 0;
    *known = 1;
    return (caps >> 19) & 1; /* CAP_SYS_PTRACE */
}

/* The kernel's rule for attaching a debugger (ptrace access mode ATTACH
 * with real credentials): a caller with CAP_SYS_PTRACE, or one whose uid
 * and gid are this process's real, effective and saved ones, while this
 * process is dumpable.  Returns NULL, or why PEER may not. */
static const char *authorise(const struct ucred *cr, char *why, size_t n)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;
    int known;
    if (peer_may_trace_anyone(cr, &known) || (!known && cr->uid == 0))
        return NULL;
    if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
        return "cannot read this process's credentials";
    if (cr->uid != r || cr->uid != e || cr->uid != s) {
        snprintf(why, n, "uid %u may not update this process: it runs as uid %u (real), %u "
                 "(effective), %u (saved); only a caller whose uid is all three, or with "
                 "CAP_SYS_PTRACE, may (as for attaching a debugger)", (unsigned)cr->uid,
                 (unsigned)r, (unsigned)e, (unsigned)s);
        return why;
    }
    if (cr->gid != rg || cr->gid != eg || cr->gid != sg) {
        snprintf(why, n, "gid %u may not update this process: it runs as gid %u (real), %u "
                 "(effective), %u (saved); only a caller whose gid is all three, or with "
                 "CAP_SYS_PTRACE, may (as for attaching a debugger)", (unsigned)cr->gid,
                 (unsigned)rg, (unsigned)eg, (unsigned)sg);
        return why;
    }
    if (prctl(PR_GET_DUMPABLE) != 1)
        return "this process is not dumpable (it changed its credentials or asked not to be "
               "traced): only a caller with CAP_SYS_PTRACE may update it";
    return NULL;
}

/* ---- connections ------------------------------------------------------- */

enum { C_FREE, C_READ, C_WAIT, C_WRITE };

/* Every fd the runtime holds is remembered with its identity: a program
 * may close any fd (daemons close them all) and get the number again for
 * a file of its own, which the runtime must then never read, write or
 * close. */
struct ownfd {
    int fd;
    dev_t dev;
    ino_t ino;
};

static struct conn {
    int state;
    struct ownfd sock, patch; /* patch: passed with the request, or -1 */
    long long deadline;
    int gone;                 /* C_WAIT: its client went away */
    const char *refused;      /* why the peer may not, if it may not */
    char refused_buf[400];
    char in[8192];
    size_t nin;
    struct jbuf out;
    size_t sent;
} conns[MAXCONN]; /* owner: the channel */

static int own(struct ownfd *o, int fd)
{
    struct stat st;
    o->fd = fd;
    if (fd < 0 || fstat(fd, &st) < 0)
        return o->fd = -1, -1;
    o->dev = st.st_dev;
    o->ino = st.st_ino;
    return 0;
}

static int still_ours(const struct ownfd *o)
{
    struct stat st;
    return o->fd >= 0 && fstat(o->fd, &st) == 0 && st.st_dev == o->dev && st.st_ino == o->ino;
}

/* Closes the fd if it is still ours; forgets the number either way. */
static void drop(struct ownfd *o)
{
    if (still_ours(o))
        close(o->fd);
    o->fd = -1;
}

static void conn_end(struct conn *c)
{
    drop(&c->sock);
    drop(&c->patch);
    free(c->out.p);
    memset(c, 0, sizeof *c);
    c->sock.fd = c->patch.fd = -1;
    c->state = C_FREE;
}

static void conn_answer(struct conn *c)
{
    jb_raw(&c->out, "\n");
    if (c->out.oom) {
        static const char oom[] =
            "{\"ok\":false,\"code\":\"rejected\",\"reason\":\"out of memory\"}\n";
        free(c->out.p);
        c->out = (struct jbuf){0};
        jb_put(&c->out, oom, sizeof oom - 1);
    }
    c->sent = 0;
    c->state = C_WRITE;
    c->deadline = mono_ns() + REQUEST_MS * 1000000LL;
}

/* Acts on the complete request line in c->in. */
static void conn_request(struct conn *c, char *line, size_t n)
{
    if (n > 0 && line[n - 1] == '\r')
        line[--n] = '\0';
    if (c->refused) {
        fail(&c->out, "rejected", "%s", c->refused);
    } else if (memchr(line, '\0', n)) {
        fail(&c->out, "bad-input", "malformed request");
    } else if (strcmp(line, "STATUS") == 0) {
        do_status(&c->out);
    } else if (strncmp(line, "APPLY ", 6) == 0) {
        char *end, *path;
        const char *digest = NULL;
        errno = 0;
        long long ms = strtoll(line + 6, &end, 10);
        path = end + 1;
        if (end != line + 6 && *end == ' ' && strncmp(path, "sha256:", 7) == 0 &&
            strspn(path + 7, "0123456789abcdef") == 64 && path[71] == ' ') {
            digest = path + 7;
            path[71] = '\0';
            path += 72;
        }
        if (end == line + 6 || *end != ' ' || path[0] != '/' || ms < 0 || errno) {
            fail(&c->out, "bad-input", "malformed request: want APPLY <timeout_ms> "
                 "[sha256:<hex>] <absolute path>, with the patch passed as an open file");
        } else if (job.active) {
            fail(&c->out, "rejected", "another update of this process is in progress");
        } else if (c->patch.fd < 0) {
            fail(&c->out, "bad-input", "no file came with the request to apply %s: the "
                 "patch must be passed as an open file descriptor (SCM_RIGHTS)", path);
        } else if (!still_ours(&c->patch)) {
            fail(&c->out, "bad-input", "the file passed for %s was closed by the program", path);
        } else if (apply_start(&c->out, ms > 86400000 ? 86400000 : ms, c->patch.fd, path,
                               digest)) {
            drop(&c->patch);
            c->state = C_WAIT;
            return;
        }
    } else {
        fail(&c->out, "bad-input", "unknown request");
    }
    drop(&c->patch);
    conn_answer(c);
}

/* Takes what the peer sent; the patch's fd arrives with the request. */
static void conn_read(struct conn *c)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(4 * sizeof(int))];
    } cm;
    struct iovec iov = {c->in + c->nin, sizeof c->in - 1 - c->nin};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                        .msg_controllen = sizeof cm.buf};
    ssize_t r = recvmsg(c->sock.fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); r >= 0 && h; h = CMSG_NXTHDR(&mh, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
            continue;
        size_t nfd = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < nfd; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(h) + i * sizeof fd, sizeof fd);
            if (c->patch.fd < 0 && !c->refused)
                own(&c->patch, fd);
            else
                close(fd); /* just received: certainly ours */
        }
    }
    if (r <= 0) { /* gone, or broken, before its request */
        conn_end(c);
        return;
    }
    c->nin += (size_t)r;
    c->in[c->nin] = '\0';
    char *nl = memchr(c->in, '\n', c->nin);
    if (nl) {
        *nl = '\0';
        conn_request(c, c->in, (size_t)(nl - c->in));
    } else if (c->nin == sizeof c->in - 1) {
        fail(&c->out, "bad-input", "malformed request (too long)");
        conn_answer(c);
    }
}

static void conn_write(struct conn *c)
{
    while (c->sent < c->out.len) {
        /* MSG_NOSIGNAL: a client that went away must not raise SIGPIPE */
        ssize_t w = send(c->sock.fd, c->out.p + c->sent, c->out.len - c->sent,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return;
        if (w <= 0)
            break;
        c->sent += (size_t)w;
    }
    conn_end(c);
}

/* The waiting APPLY's client: still there?  Anything it sends now is
 * ignored; its end of the connection closing withdraws the request. */
static int client_gone(struct conn *c, short revents)
{
    if (revents & (POLLHUP | POLLERR | POLLRDHUP))
        return 1;
    if (revents & POLLIN) {
        char junk[256];
        ssize_t r = recv(c->sock.fd, junk, sizeof junk, MSG_DONTWAIT);
        return r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
    }
    return 0;
}

static void accept_new(void)
{
    for (;;) {
        struct conn *c = NULL;
        for (int i = 0; i < MAXCONN && !c; i++)
            if (conns[i].state == C_FREE)
                c = &conns[i];
        if (!c)
            return; /* the others wait in the backlog */
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                return;
            /* e.g. out of fds, or a sandbox that refuses the call: say so,
             * and do not spin on a listener that stays readable */
            report("cannot accept a request (accept4: %s)%s", strerror(errno),
                   errno == EPERM || errno == ENOSYS || errno == EACCES
                       ? "; a sandbox may refuse a call the runtime needs (see dsu.h)" : "");
            accept_pause = mono_ns() + 1000000000LL;
            return;
        }
        conn_end(c);
        own(&c->sock, fd);
        struct ucred cr;
        socklen_t crlen = sizeof cr;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0)
            c->refused = "cannot identify the requesting process";
        else
            c->refused = authorise(&cr, c->refused_buf, sizeof c->refused_buf);
        c->state = C_READ;
        c->deadline = mono_ns() + REQUEST_MS * 1000000LL;
    }
}

/* One round of the channel: waits up to WAIT_MS (-1: until something
 * happens), at most a second, and serves what is ready.  poll() does not
 * return when the program closes lfd, and a program may close it (and
 * reuse its number) between the check below and the poll() that would
 * wait on it: an idle channel therefore looks again once a second (one
 * poll() and one fstat() a second), and the CLI also knocks on the
 * socket's path, which wakes it sooner. */
static int channel_step(int wait_ms)
{
    struct pollfd pfd[MAXCONN + 1];
    struct conn *who[MAXCONN + 1];
    long long now = mono_ns();
    if (wait_ms < 0 || wait_ms > 1000)
        wait_ms = 1000;
    if (!listener_alive()) {
        /* Our fd was closed (or reused by the program): forget the number
         * without closing it, and listen anew (at most once a second). */
        lfd = -1;
        if (now >= next_listen && listen_now() < 0)
            next_listen = now + 1000000000LL;
        if (lfd < 0 && (wait_ms < 0 || wait_ms > 1000))
            wait_ms = 1000;
    }
    int n = 0;
    if (lfd >= 0 && now >= accept_pause)
        pfd[n] = (struct pollfd){lfd, POLLIN, 0}, who[n++] = NULL;
    else if (lfd >= 0 && (wait_ms < 0 || wait_ms > 1000))
        wait_ms = 1000;
    for (int i = 0; i < MAXCONN; i++) {
        struct conn *c = &conns[i];
        if (c->state == C_FREE)
            continue;
        if (c->gone)
            continue; /* its request awaits the outcome, to be withdrawn */
        if (!still_ours(&c->sock)) { /* closed by the program: forget it */
            c->sock.fd = -1;
            if (c->state == C_WAIT)
                c->gone = 1;
            else
                conn_end(c);
            continue;
        }
        short ev = c->state == C_READ ? POLLIN : c->state == C_WAIT ? POLLIN | POLLRDHUP : POLLOUT;
        pfd[n] = (struct pollfd){c->sock.fd, ev, 0}, who[n++] = c;
        if (c->state != C_WAIT) {
            long long left = (c->deadline - now) / 1000000 + 1;
            if (wait_ms < 0 || left < wait_ms)
                wait_ms = left < 0 ? 0 : (int)left;
        }
    }
    if (job.active && (wait_ms < 0 || wait_ms > 5))
        wait_ms = 5; /* watch for the update point and the deadline */
    if (poll(pfd, (nfds_t)n, wait_ms) < 0 && errno != EINTR) {
        report("the control channel cannot wait for requests (poll: %s)", strerror(errno));
        return -1;
    }
    now = mono_ns();
    for (int i = 0; i < n; i++) {
        struct conn *c = who[i];
        if (!c) {
            if (pfd[i].revents & POLLIN)
                accept_new();
            continue;
        }
        if (!still_ours(&c->sock)) { /* closed by the program meanwhile */
            c->sock.fd = -1;
            if (c->state == C_WAIT)
                c->gone = 1;
            else
                conn_end(c);
            continue;
        }
        if (c->state == C_WAIT) {
            c->gone = client_gone(c, pfd[i].revents);
            continue;
        }
        if (pfd[i].revents && c->state == C_READ)
            conn_read(c);
        else if (pfd[i].revents && c->state == C_WRITE)
            conn_write(c);
        if (c->state != C_FREE && c->state != C_WAIT && now >= c->deadline)
            conn_end(c); /* too slow: dropped, so that it delays nobody */
    }
    /* a request being installed (TAKEN) cannot be withdrawn: its outcome
     * is awaited even when its client is gone */
    for (int i = 0; i < MAXCONN; i++) {
        struct conn *c = &conns[i];
        if (c->state == C_WAIT && apply_outcome(&c->out, c->gone)) {
            if (c->gone)
                conn_end(c);
            else
                conn_answer(c);
        }
    }
    return 0;
}

/* ---- control thread, or polling ---------------------------------------- */

static void *control_main(void *arg)
{
    (void)arg;
    __atomic_store_n(&control_tid, current_tid(), __ATOMIC_RELEASE);
    for (;;)
        if (channel_step(-1) < 0)
            sleep(1);
    return NULL;
}

/* Polling mode, at an update point of the program: serves what is ready
 * without waiting, at most every 20 ms unless an update is under way.
 * One thread at a time; the others go on. */
static void channel_poll(void)
{
    static long long next;
    long long now = mono_ns();
    if (!job.active && now < __atomic_load_n(&next, __ATOMIC_RELAXED))
        return;
    if (pthread_mutex_trylock(&chan_lock) != 0)
        return;
    __atomic_store_n(&next, now + 20000000LL, __ATOMIC_RELAXED);
    channel_step(0);
    pthread_mutex_unlock(&chan_lock);
}

static void start_channel(void)
{
    /* Listen before returning, so that the process is updateable as soon
     * as main() (or the child side of fork()) runs. */
    if (listen_now() < 0)
        next_listen = mono_ns() + 1000000000LL;
    const char *mode = getenv("DSU_CONTROL");
    if (mode && strcmp(mode, "poll") == 0)
        poll_mode = 1;
    if (!poll_mode) {
        sigset_t all, old;
        pthread_attr_t attr;
        pthread_t t;
        /* The thread runs this object's code for as long as the process
         * lives: when the program is itself a shared object (a plugin, a
         * library loaded with dlopen), it must never be unloaded under it. */
        Dl_info self;
        if (dladdr((void *)start_channel, &self) && self.dli_fname)
            (void)dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
        /* created with every signal blocked, so the program's signals keep
         * going to its own threads exactly as before */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 512 * 1024);
        int err = pthread_create(&t, &attr, control_main, NULL);
        if (!err) /* the CLI looks for it by this name (its seccomp state) */
            pthread_setname_np(t, "dsu-control");
        pthread_attr_destroy(&attr);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (err) {
            fprintf(stderr, "dsu: cannot start the control thread (%s); updates are received "
                    "at the program's update points instead\n", strerror(err));
            poll_mode = 1;
        }
    }
    if (poll_mode)
        __atomic_store_n(&dsu__pending, 1, __ATOMIC_RELEASE);
}

/* Holding the lock across fork() gives the child a consistent registry;
 * state transformers never run under it, so one may fork.  The conversion
 * lock too, so that no object is half converted in the child (it is
 * taken first: a transformer that forks already holds it). */
static void fork_prepare(void)
{
    pthread_mutex_lock(&convert_lock);
    pthread_mutex_lock(&lock);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&lock);
    pthread_mutex_unlock(&convert_lock);
}

static void fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    convert_lock_init();
    pthread_mutex_init(&chan_lock, NULL);
    /* A request in flight belongs to the parent's channel, unless this
     * child was forked by a state transformer of it: it goes on. */
    if (req.state != TAKEN) {
        req.state = IDLE;
        /* the parent's channel frees it: the merged table of a request
         * not taken, or the old one of a request taken */
        ptable_free(req.points);
        req.points = NULL;
        __atomic_store_n(&dsu__pending, 0, __ATOMIC_RELAXED);
    }
    memset(&job, 0, sizeof job); /* the parent's: not freed here */
    control_tid = 0; /* the parent's; the child's own sets it anew */
    threads_after_fork();
    if (listener_alive())
        close(lfd); /* the parent's socket */
    lfd = -1;
    for (int i = 0; i < MAXCONN; i++) {
        if (still_ours(&conns[i].sock))
            close(conns[i].sock.fd);
        if (still_ours(&conns[i].patch))
            close(conns[i].patch.fd);
        memset(&conns[i], 0, sizeof conns[i]); /* their buffers: the parent's */
        conns[i].sock.fd = conns[i].patch.fd = -1;
    }
    start_channel();
}
