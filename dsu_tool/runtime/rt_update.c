/* rt_update.c -- code that runs on the program's own thread: the update
 * point that installs a prepared patch, and the lazy conversion of
 * wrapped objects.
 * Part of the single translation unit dsu_runtime.c (everything stays
 * static there); not compiled on its own. */

/* ---- the update point ------------------------------------------------- */

static void channel_poll(void);

/* Installs P at FILE:LINE, on the calling thread, while every other
 * thread that may run program code waits (ready_to_install said so).
 * Called and returns with `lock` held; the state transformers run
 * without it (TAKEN keeps the channel from withdrawing meanwhile):
 * fork() handlers take that lock, and a transformer may fork. */
static void install(const struct dsu_patch *p, const char *file, int line)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    req.state = TAKEN;
    /* cleared before the state transformers run: one that reaches
     * DSU_update() must not re-enter */
    __atomic_store_n(&dsu__pending, poll_mode, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&lock);
    /* State transformers can fail, so they run before the first change.
     * They write only storage the patch owns, which is discarded with the
     * patch on failure: nothing of the program needs undoing. */
    for (unsigned i = 0; i < p->nstates; i++) {
        int r = p->states[i].transform();
        if (r != 0) {
            pthread_mutex_lock(&lock);
            req.failed_state = i;
            req.failed_ret = r;
            req.state = FAILED;
            __atomic_store_n(&stopping, 0, __ATOMIC_SEQ_CST);
            pthread_cond_broadcast(&park_cv);
            return;
        }
    }
    /* Installing is a handful of stores; under the lock so that STATUS
     * sees the program before or after it, never halfway. */
    pthread_mutex_lock(&lock);
    /* Types before slots: new code becomes reachable through a slot and
     * must then see the type as changed. */
    for (unsigned i = 0; i < p->nxforms; i++) {
        struct step *s = &req.steps[i];
        struct type *t = s->type;
        *t->tail = s;
        t->tail = &s->next;
        t->nsteps++;
        t->layout = s->x->to_layout;
        t->tag = s->to_tag;
        t->pub.changed = 1;
    }
    if (req.types) {
        *req.types_tail = added_types;
        added_types = req.types;
    }
    for (unsigned i = 0; i < p->nupdates; i++)
        __atomic_store_n(req.slots[i], p->updates[i].body, __ATOMIC_RELEASE);
    if (req.defs) {
        req.defs->next = registry;
        registry = req.defs;
    }
    if (req.points) { /* the channel frees what it gets back */
        struct ptable *old = points;
        points = req.points;
        req.points = old;
    }
    __atomic_store_n(&cur_version, p->to_version, __ATOMIC_RELEASE);
    cur_id = p->to_id;
    clock_gettime(CLOCK_REALTIME, &req.rec->at);
    req.rec->up_file = file;
    req.rec->up_line = line;
    *applied_tail = req.rec;
    applied_tail = &req.rec->next;
    req.state = DONE;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    req.rec->pause_ns = ns_of(t1) - ns_of(t0);
    /* the others go on, with the new code */
    __atomic_store_n(&stopping, 0, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&park_cv);
}

/* Takes the pending request at FILE:LINE if it is safe there: the
 * calling thread parks until every thread that may run program code
 * waits where the patch may be installed (see rt_threads.c), the last
 * one to park installs it, and all go on.  While some thread takes no
 * part in updates nobody parks: the program runs on until that thread
 * arrives or the request times out (and is refused). */
static void take_request(const char *file, int line)
{
    pthread_mutex_lock(&lock);
    if (req.state != PENDING) { /* withdrawn, or another thread took it */
        pthread_mutex_unlock(&lock);
        return;
    }
    const struct dsu_patch *p = req.patch;
    struct thr *me = thr_self_locked();
    /* Only a patch that changes types can break code that is still running
     * here; where the tables know nothing, assume the worst. */
    if (!point_safe(p, file, line)) {
        req.deferred++;
        /* the same point is usually hit again and again */
        if (file != req.why_file || line != req.why_line) {
            explain_deferral(p, ptable_find(points, file, (unsigned)line), file, line);
            req.why_file = file;
            req.why_line = line;
        }
        pthread_mutex_unlock(&lock);
        return;
    }
    long long now = mono_ns();
    if (now >= req.census_next) { /* at most every 20 ms: it reads /proc */
        struct census c;
        char w[8];
        struct sbuf b = {w, sizeof w, 0};
        req.outsiders = census(&c, &b) < 0 ? -1 : c.outsiders;
        req.census_next = now + 20000000LL;
    }
    if (!me || req.outsiders) {
        pthread_mutex_unlock(&lock);
        return;
    }
    me->file = file;
    me->line = line;
    __atomic_store_n(&me->state, T_PARKED, __ATOMIC_SEQ_CST);
    for (;;) {
        if (req.state == PENDING && ready_to_install(p)) {
            install(p, file, line);
            break;
        }
        if (req.state != PENDING && req.state != TAKEN)
            break; /* installed by another thread, withdrawn or refused */
        if (poll_mode) { /* no control thread: the deadline is ours to see */
            pthread_mutex_unlock(&lock);
            channel_poll();
            pthread_mutex_lock(&lock);
            if (req.state != PENDING && req.state != TAKEN)
                break;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 10000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&park_cv, &lock, &until);
    }
    __atomic_store_n(&me->state, T_RUN, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&lock);
}

void dsu__update_point(const char *file, int line)
{
    static __thread int inside; /* a state transformer reaching DSU_update() */
    if (inside)
        return;
    inside = 1;
    if (poll_mode)
        channel_poll(); /* may post a request */
    take_request(file, line);
    if (poll_mode)
        channel_poll(); /* answers it */
    inside = 0;
}

const char *dsu_version(void)
{
    return __atomic_load_n(&cur_version, __ATOMIC_ACQUIRE);
}

/* ---- lazy conversion of wrapped objects ------------------------------- */

/* Conversions hold one lock: two threads that reach the same old object
 * convert it once, the second waiting for the first and then finding it
 * converted.  The tag is stored (release) only once a step's transformer
 * has written the object, and the inline check of new code loads it
 * (acquire): code that finds the tag it wants sees the converted fields,
 * and code that does not comes here and waits for the lock.  One lock
 * rather than one per object: a transformer may convert objects nested in
 * its own (hence recursive), and locks per object could then be taken in
 * opposite orders by two threads.  Each object takes it once per update
 * that changes its type; code that finds its objects converted never
 * does (see the steady-state cost in the README). */
static pthread_mutex_t convert_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

static void convert_lock_init(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&convert_lock, &a);
    pthread_mutexattr_destroy(&a);
}

/* Called by new code only after its inline check (type changed, tag not
 * TARGET) failed.  The chain is changed only by an update, installed
 * while no other thread runs program code (see rt_threads.c), so it is
 * read without locking.
 *
 * A transformer that fails leaves the object half converted, with running
 * code about to use it in the new layout; there is no earlier state to go
 * back to (the update was committed long ago), so the only safe outcome is
 * to stop the process rather than let it compute with a corrupt object. */
void dsu__convert(struct dsu_type_state *type, void *obj, unsigned target)
{
    const struct type *t = (const struct type *)type;
    unsigned *tagp = (unsigned *)((char *)obj + t->prog->tag_offset);
    if (__atomic_load_n(tagp, __ATOMIC_ACQUIRE) == target)
        return;
    pthread_mutex_lock(&convert_lock);
    unsigned tag = __atomic_load_n(tagp, __ATOMIC_RELAXED);
    if (tag == target) { /* another thread converted it meanwhile */
        pthread_mutex_unlock(&convert_lock);
        return;
    }
    const struct step *start = NULL, *s;
    int known = tag == t->prog->tag;
    for (s = t->steps; s; s = s->next) {
        if (s->from_tag == tag) {
            start = s;
            break;
        }
        known |= s->to_tag == tag;
    }
    /* An unknown tag (0 from zeroed memory, or garbage) means the object
     * was made by the program as built, in its base layout.  A known tag
     * with no way on must not be mistaken for that: converting it from the
     * base layout would corrupt it. */
    if (!start && !known)
        start = t->steps;
    for (s = start; s && s->to_tag != target; s = s->next)
        ;
    if (!s) {
        fprintf(stderr,
                "dsu: cannot convert %s at %p to layout %08x: from its tag %08x no way "
                "leads there through the %u transformer(s) applied to the type\n",
                t->prog->name, obj, target, tag, t->nsteps);
        abort();
    }
    unsigned n = 1;
    for (const struct step *c = t->steps; c != start; c = c->next)
        n++;
    for (s = start;; s = s->next, n++) {
        int r = s->convert(obj);
        if (r != 0) {
            fprintf(stderr,
                    "dsu: converting %s at %p failed at step %u of %u (layout %s -> %s, from "
                    "the patch %s -> %s): the transformer returned %d; the object is "
                    "half converted and cannot be restored, aborting\n",
                    t->prog->name, obj, n, t->nsteps, s->x->from_layout, s->x->to_layout,
                    s->patch->from_version, s->patch->to_version, r);
            abort();
        }
        __atomic_store_n(tagp, s->to_tag, __ATOMIC_RELEASE);
        if (s->to_tag == target)
            break;
    }
    pthread_mutex_unlock(&convert_lock);
}
