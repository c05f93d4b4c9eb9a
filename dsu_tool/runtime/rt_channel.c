/* rt_channel.c -- the control channel: STATUS, serving requests, the
 * control thread, fork handling and the start-up tables.
 * Part of the single translation unit dsu_runtime.c (everything stays
 * static there); not compiled on its own. */

/* ---- STATUS ----------------------------------------------------------- */

static void do_status(struct jbuf *out)
{
    pthread_mutex_lock(&lock);
    jb_fmt(out, "{\"ok\":true,\"pid\":%ld,\"program\":", (long)getpid());
    jb_str(out, dsu__program_name);
    jb_raw(out, ",\"version\":");
    jb_str(out, cur_version);
    jb_raw(out, ",\"version_id\":");
    jb_str(out, cur_id);
    jb_raw(out, ",\"base_version\":");
    jb_str(out, dsu__program_version);
    jb_raw(out, ",\"patches\":[");
    for (struct applied *a = applied_head; a; a = a->next) {
        char where[4200];
        snprintf(where, sizeof where, "%s:%d", a->up_file ? a->up_file : "?", a->up_line);
        jb_raw(out, a == applied_head ? "{\"path\":" : ",{\"path\":");
        jb_str(out, a->path);
        jb_raw(out, ",\"from\":");
        jb_str(out, a->from);
        jb_raw(out, ",\"to\":");
        jb_str(out, a->to);
        jb_fmt(out, ",\"applied_at\":%lld.%06ld,\"pause_ns\":%lld,\"update_point\":",
               (long long)a->at.tv_sec, a->at.tv_nsec / 1000, a->pause_ns);
        jb_str(out, where);
        jb_raw(out, "}");
    }
    jb_raw(out, "],\"types\":[");
    const struct type *added = added_types;
    for (size_t i = 0; i < ntypes || added; i++) {
        const struct type *t = i < ntypes ? &types[i] : added;
        if (i >= ntypes)
            added = added->next_added;
        jb_raw(out, i ? ",{\"name\":" : "{\"name\":");
        jb_str(out, t->prog->name);
        jb_raw(out, ",\"layout\":");
        jb_str(out, t->layout);
        jb_raw(out, ",\"base_layout\":");
        jb_str(out, t->prog->layout);
        jb_fmt(out, ",\"changed\":%s,\"steps\":%u}", t->pub.changed ? "true" : "false",
               t->nsteps);
    }
    jb_raw(out, "],\"points\":[");
    for (size_t i = 0; i < points->n; i++) {
        const struct upoint *pt = &points->v[i];
        jb_raw(out, i ? ",{\"file\":" : "{\"file\":");
        jb_str(out, pt->file);
        jb_fmt(out, ",\"line\":%u,\"function\":", pt->line);
        jb_str(out, pt->function);
        jb_raw(out, ",\"restricted\":[");
        for (size_t k = 0; k < pt->nrestricted; k++) {
            if (k)
                jb_raw(out, ",");
            jb_str(out, pt->restricted[k]);
        }
        jb_raw(out, "]}");
    }
    jb_fmt(out, "],\"pending\":%s", req.state == PENDING ? "true" : "false");
    if (req.state == PENDING) {
        jb_fmt(out, ",\"deferred\":%lu,\"deferred_reason\":", req.deferred);
        jb_str(out, req.why);
    }
    jb_raw(out, "}");
    pthread_mutex_unlock(&lock);
}

/* ---- the control thread ----------------------------------------------- */

/* Reads one request line; returns its length without the newline, or -1. */
static ssize_t read_line(int c, char *buf, size_t cap)
{
    size_t n = 0;
    while (n < cap - 1) {
        ssize_t r = recv(c, buf + n, cap - 1 - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        char *nl = memchr(buf + n, '\n', (size_t)r);
        n += (size_t)r;
        if (nl) {
            *nl = '\0';
            return nl - buf;
        }
    }
    return -1;
}

/* Answers one request on C and closes it.  BUSY: an APPLY is waiting for
 * an update point; only STATUS is served. */
static void serve(int c, int busy)
{
    struct jbuf out = {0};
    struct ucred cr;
    socklen_t crlen = sizeof cr;
    char line[8192];
    /* a client that connects and says nothing must not stall us */
    struct timeval tv = {busy ? 1 : 5, 0};
    __atomic_store_n(&conns[busy], c, __ATOMIC_SEQ_CST);
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    /* read before judging the peer: closing on unread data would reset
     * the connection and lose the answer */
    ssize_t n = read_line(c, line, sizeof line);
    if (n > 0 && line[n - 1] == '\r')
        line[--n] = '\0';
    if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0) {
        fail(&out, "rejected", "cannot identify the requesting process");
    } else if (cr.uid != geteuid() && cr.uid != 0) {
        fail(&out, "rejected", "uid %u may not control this process (it runs as uid %u)",
             (unsigned)cr.uid, (unsigned)geteuid());
    } else if (n < 0 || memchr(line, '\0', (size_t)n)) {
        fail(&out, "bad-input", "malformed request");
    } else if (strcmp(line, "STATUS") == 0) {
        do_status(&out);
    } else if (strncmp(line, "APPLY ", 6) == 0) {
        char *end;
        errno = 0;
        long long ms = strtoll(line + 6, &end, 10);
        if (end == line + 6 || *end != ' ' || end[1] != '/' || ms < 0 || errno)
            fail(&out, "bad-input", "malformed request: want APPLY <timeout_ms> <absolute path>");
        else if (busy)
            fail(&out, "rejected", "another update of this process is in progress");
        else
            do_apply(&out, ms > 86400000 ? 86400000 : ms, end + 1);
    } else {
        fail(&out, "bad-input", "unknown request");
    }
    reply(c, &out);
    /* forget the number before it is free for the program to reuse */
    __atomic_store_n(&conns[busy], -1, __ATOMIC_SEQ_CST);
    close(c);
}

static int listener_alive(void)
{
    struct stat st;
    return lfd >= 0 && fstat(lfd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == l_dev &&
           st.st_ino == l_ino;
}

static int listen_now(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int len = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "dsu-%ld", (long)getpid());
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
    struct stat st;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, alen) < 0 || listen(fd, 16) < 0 || fstat(fd, &st) < 0) {
        close(fd);
        return -1;
    }
    l_dev = st.st_dev;
    l_ino = st.st_ino;
    lfd = fd;
    return 0;
}

static void *control_main(void *arg)
{
    (void)arg;
    for (;;) {
        if (!listener_alive()) {
            /* Our fd was closed (or reused by the program): forget the
             * number without closing it, and listen anew. */
            lfd = -1;
            if (listen_now() < 0) {
                sleep(1);
                continue;
            }
        }
        /* If the program closes lfd while we block here, the socket lives
         * on until accept returns, which serves that connection; the
         * identity check above then notices. */
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno != EINTR && errno != ECONNABORTED)
                usleep(100000); /* e.g. EMFILE: do not spin */
            continue;
        }
        serve(c, 0);
    }
    return NULL;
}

static void start_control_thread(void)
{
    sigset_t all, old;
    /* Listen before returning, so that the process is updateable as soon
     * as main() (or the child side of fork()) runs; the thread retries if
     * this fails. */
    listen_now();
    pthread_attr_t attr;
    pthread_t t;
    /* created with every signal blocked, so the program's signals keep
     * going to its own threads exactly as before */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    if (pthread_create(&t, &attr, control_main, NULL) != 0)
        say("cannot start the control thread; this process cannot be updated");
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void init_sync(void)
{
    pthread_condattr_t ca;
    pthread_mutex_init(&lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&done_cv, &ca);
    pthread_condattr_destroy(&ca);
}

/* Holding the lock across fork() gives the child a consistent registry. */
static void fork_prepare(void) { pthread_mutex_lock(&lock); }
static void fork_parent(void) { pthread_mutex_unlock(&lock); }

static void fork_child(void)
{
    init_sync();
    /* a request in flight belongs to the parent's control thread */
    req.state = IDLE;
    /* the parent's control thread would have freed it: the new table of
     * a request not taken, or the old one of a request taken */
    ptable_free(req.points);
    req.points = NULL;
    dsu__pending = 0;
    if (listener_alive())
        close(lfd); /* else "\0dsu-<parent>" would outlive the parent */
    lfd = -1;
    for (int i = 0; i < 2; i++)
        if (conns[i] >= 0)
            close(conns[i]), conns[i] = -1;
    start_control_thread();
}

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
