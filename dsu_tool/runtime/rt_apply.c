/* rt_apply.c -- APPLY: check a loaded patch against the running program,
 * prepare it, post it for an update point and await the outcome.
 * Part of the single translation unit dsu_runtime.c (everything stays
 * static there); not compiled on its own. */

/* ---- APPLY -------------------------------------------------------------- */

static const struct dsu_sym *lookup(const char *name)
{
    for (const struct chunk *c = registry; c; c = c->next)
        for (size_t i = c->n; i-- > 0;)
            if (c->syms[i].name && strcmp(c->syms[i].name, name) == 0)
                return &c->syms[i];
    return NULL;
}

static const char *kind_name(unsigned kind)
{
    return kind == DSU_FUNC ? "function" : kind == DSU_VAR ? "variable" : "unknown kind";
}

static int same(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

/* Finds the program's definition a patch needs: a function for slot/stub
 * imports and updates, a variable for variable imports, with an identical
 * type hash.  WHAT is "import" or "update", for the reason. */
static const struct dsu_sym *resolve(struct jbuf *out, const char *what, const char *name,
                                     const char *hash, unsigned want)
{
    const struct dsu_sym *e = name ? lookup(name) : NULL;
    if (!e) {
        fail(out, "rejected", "%s %s (%s, type hash %s) is not defined in the running program",
             what, name ? name : "(null)", kind_name(want), hash ? hash : "");
        return NULL;
    }
    if (e->kind != want || (want == DSU_FUNC && !e->slot)) {
        fail(out, "rejected", "%s %s: the patch needs a %s, the running program defines a %s",
             what, name, kind_name(want), kind_name(e->kind));
        return NULL;
    }
    if (!same(e->type_hash, hash)) {
        fail(out, "rejected", "%s %s: type hash %s in the patch, %s in the running program",
             what, name, hash ? hash : "", e->type_hash ? e->type_hash : "");
        return NULL;
    }
    return e;
}

static struct type *find_type(const char *name)
{
    for (size_t i = 0; name && i < ntypes; i++)
        if (strcmp(types[i].prog->name, name) == 0)
            return &types[i];
    for (struct type *l = added_types; name && l; l = l->next_added)
        if (strcmp(l->prog->name, name) == 0)
            return l;
    for (struct type *l = pending_types; name && l; l = l->next_added)
        if (strcmp(l->prog->name, name) == 0)
            return l;
    return NULL;
}

/* The types patch P introduces, as nodes of a list for the update point
 * to link in (in NODES, one per entry at most); those the process has
 * already (a patch that introduced them was applied before, or rolled
 * back and applied again) must be as the process has them now. */
static int prepare_types(struct jbuf *out, const struct dsu_patch *p, struct type *nodes,
                         struct type ***tail)
{
    struct type **link = &pending_types;
    for (unsigned i = 0; i < p->ntypes; i++) {
        const struct dsu_type *e = &p->types[i];
        if (!e->name || !e->layout || e->tag == 0)
            return fail(out, "bad-input", "type %u the patch introduces has no name, layout or "
                        "tag", i);
        struct type *t = find_type(e->name);
        if (t) {
            if (!same(t->layout, e->layout) || t->tag != e->tag || t->prog->size != e->size ||
                t->prog->tag_offset != e->tag_offset)
                return fail(out, "rejected", "the patch introduces %s in layout %s (%u bytes), "
                            "but the process already has it in layout %s (%u bytes)", e->name,
                            e->layout, e->size, t->layout, t->prog->size);
            continue;
        }
        t = nodes++;
        t->prog = e;
        t->layout = e->layout;
        t->tag = e->tag;
        t->tail = &t->steps;
        *link = t;
        link = &t->next_added;
    }
    *tail = link;
    return 0;
}

/* The running program's wrapped type NAME, for a patch that needs it
 * (WHAT says how, for the reason). */
static struct type *resolve_type(struct jbuf *out, const char *what, const char *name)
{
    struct type *t = find_type(name);
    if (types_oom) {
        fail(out, "rejected",
             "out of memory when the process started: its wrapped types are unknown");
        return NULL;
    }
    if (!t) {
        fail(out, "rejected", "%s %s: the running program has no such wrapped type", what,
             name ? name : "(null)");
        return NULL;
    }
    if (t->conflict) {
        fail(out, "rejected", "%s %s: the running program's objects describe this type "
             "inconsistently (layout, tag, size or tag offset differ)", what, name);
        return NULL;
    }
    return t;
}

static const struct dsu_xform *xform_for(const struct dsu_patch *p, const char *name)
{
    for (unsigned i = 0; i < p->nxforms; i++)
        if (same(p->xforms[i].type, name))
            return &p->xforms[i];
    return NULL;
}

/* Checks the patch's type transformers against the types as they are now.
 * Fills STEPS (one per xform) for the update point to link in. */
static int check_xforms(struct jbuf *out, const struct dsu_patch *p, struct step *steps)
{
    for (unsigned i = 0; i < p->nxforms; i++) {
        const struct dsu_xform *x = &p->xforms[i];
        if (!x->type || !x->convert || !x->from_layout || !x->to_layout)
            return fail(out, "bad-input", "type transformer %u has no type, layouts or function",
                        i);
        if (xform_for(p, x->type) != x)
            return fail(out, "bad-input", "the patch has two transformers for %s", x->type);
        /* a tag names a layout: 0 is reserved for "untagged", and a
         * transformer that keeps the tag would never run */
        if (x->to_tag == 0 || x->to_tag == x->from_tag)
            return fail(out, "bad-input", "the transformer for %s has tags %08x -> %08x",
                        x->type, x->from_tag, x->to_tag);
        struct type *t = resolve_type(out, "type transformer for", x->type);
        if (!t)
            return -1;
        if (!same(x->from_layout, t->layout))
            return fail(out, "rejected", "patch expects %s in layout %s, the process has %s",
                        x->type, x->from_layout, t->layout);
        if (x->from_tag != t->tag)
            return fail(out, "rejected", "patch expects %s with tag %08x, the process has %08x",
                        x->type, x->from_tag, t->tag);
        /* objects stay where they are, so the room must stay the same */
        if (x->size != t->prog->size || x->tag_offset != t->prog->tag_offset)
            return fail(out, "rejected",
                        "patch expects %s of size %u with its tag at offset %u, the process has "
                        "size %u and offset %u", x->type, x->size, x->tag_offset,
                        t->prog->size, t->prog->tag_offset);
        steps[i].from_tag = x->from_tag;
        steps[i].to_tag = x->to_tag;
        steps[i].convert = x->convert;
        steps[i].type = t;
        steps[i].x = x;
        steps[i].patch = p;
    }
    return 0;
}

/* A type import: the patch's code must have been compiled for the layout
 * the type has once this patch is in. */
static struct type *resolve_type_import(struct jbuf *out, const struct dsu_patch *p,
                                        const struct dsu_import *im)
{
    struct type *t = resolve_type(out, "import", im->name);
    if (!t)
        return NULL;
    const struct dsu_xform *x = xform_for(p, im->name);
    const char *want = x ? x->to_layout : t->layout;
    if (!same(im->type_hash, want)) {
        fail(out, "rejected", "import %s: the patch's code was compiled for layout %s, but "
             "with this patch the process has layout %s", im->name,
             im->type_hash ? im->type_hash : "", want);
        return NULL;
    }
    return t;
}

/* Refuses at once a patch that changes types in use at every listed update
 * point: it could only time out.  An empty table says nothing about where
 * the program is safe, so it refuses nothing (the update point still
 * defers at points it does not know). */
static int check_points(struct jbuf *out, const struct dsu_patch *p)
{
    if (!p->nxforms)
        return 0;
    if (points_oom)
        return fail(out, "rejected",
                    "out of memory when the process started: its update points are unknown");
    if (points->n == 0)
        return 0;
    for (size_t i = 0; i < points->n; i++)
        if (!conflicts(&points->v[i], p))
            return 0;
    char why[8192];
    struct sbuf b = {why, sizeof why, 0};
    sb_fmt(&b, "no update point can take this patch: ");
    unsigned n = sb_types(&b, p, restricted_anywhere, NULL);
    sb_fmt(&b, " %s used by code active at every update point (", n == 1 ? "is" : "are");
    for (size_t i = 0; i < points->n; i++) {
        const struct upoint *pt = &points->v[i];
        sb_fmt(&b, "%s%s:%u", i ? "; " : "", pt->file, pt->line);
        if (pt->function)
            sb_fmt(&b, " in %s", pt->function);
        if (n > 1) { /* then say which of them each point uses */
            sb_fmt(&b, ": ");
            sb_types(&b, p, restricted_at, pt);
        }
    }
    sb_fmt(&b, ")");
    return fail(out, "rejected", "%s", why);
}

static void serve(int c, int busy);
static int listener_alive(void);

/* Checks, prepares, posts and awaits one patch.  Nothing observable by the
 * program changes before the update point takes the request. */
static void do_apply(struct jbuf *out, long long timeout_ms, const char *path)
{
    long long t0 = mono_ns();
    struct stat st;
    const char *err;
    void *h = NULL;
    void ***slots = NULL;
    struct chunk *defs = NULL;
    struct step *steps = NULL;
    struct type *newtypes = NULL, **newtypes_tail = NULL;
    struct applied *rec = NULL;
    struct ptable *newpoints = NULL;
    unsigned long deferred = 0;
    char why[sizeof req.why];

    /* O_NONBLOCK: opening a FIFO must not hang the control thread */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        fail(out, "bad-input", "cannot open %s: %s", path, strerror(errno));
        return;
    }
    if (fstat(fd, &st) < 0) {
        fail(out, "bad-input", "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        fail(out, "rejected", "%s is not a regular file", path);
        goto out;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        fail(out, "rejected", "%s is owned by uid %u, neither the process's user (uid %u) nor root",
             path, (unsigned)st.st_uid, (unsigned)geteuid());
        goto out;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        fail(out, "rejected", "%s is writable by %s (mode %04o)", path,
             (st.st_mode & S_IWOTH) ? "others" : "its group", (unsigned)(st.st_mode & 07777));
        goto out;
    }
    {
        char elfwhy[160];
        const char *bad = check_elf(fd, st.st_size, elfwhy, sizeof elfwhy);
        if (bad) {
            fail(out, "bad-input", "%s is %s", path, bad);
            goto out;
        }
    }
    if (!(h = load_patch(fd, &st, &err))) {
        /* unresolved symbols or missing libraries mean "not for this
         * process"; anything else means the file itself is broken */
        int foreign = strstr(err, "undefined symbol") || strstr(err, "cannot open shared object");
        const char *colon = strchr(err, ':'); /* drop the "/proc/self/fd/N" */
        if (strncmp(err, "/proc/self/fd/", 14) == 0 && colon)
            err = colon + strspn(colon, ": ");
        fail(out, foreign ? "rejected" : "bad-input", "%s: %s", path, err);
        goto out;
    }
    const struct dsu_patch *p = dlsym(h, "dsu_patch");
    if (!p) {
        fail(out, "bad-input", "%s is not a dsu patch (it defines no dsu_patch)", path);
        goto out;
    }
    if (p->magic != DSU_PATCH_MAGIC) {
        fail(out, "bad-input", "%s is not a dsu patch (bad magic 0x%08x)", path, p->magic);
        goto out;
    }
    if (p->abi != DSU_ABI_VERSION) {
        fail(out, "rejected", "%s was built for runtime ABI %u, this runtime has ABI %u", path,
             p->abi, DSU_ABI_VERSION);
        goto out;
    }
    if (!same(p->from_id, cur_id)) {
        fail(out, "rejected", "the patch applies to %s %s (id %s), but the process runs %s %s (id %s)",
             p->program ? p->program : "?", p->from_version ? p->from_version : "?",
             p->from_id ? p->from_id : "", dsu__program_name, cur_version, cur_id);
        goto out;
    }
    if ((p->nxforms && !p->xforms) || (p->nstates && !p->states)) {
        fail(out, "bad-input", "%s lists transformers it does not have", path);
        goto out;
    }
    for (unsigned i = 0; i < p->nstates; i++)
        if (!p->states[i].transform) {
            fail(out, "bad-input", "the state transformer for %s has no function",
                 p->states[i].name ? p->states[i].name : "(null)");
            goto out;
        }
    if (p->ntypes && !p->types) {
        fail(out, "bad-input", "%s lists types it does not have", path);
        goto out;
    }
    if (p->npoints && !p->points) {
        fail(out, "bad-input", "%s lists update points it does not have", path);
        goto out;
    }
    for (unsigned i = 0; i < p->npoints; i++)
        if (!p->points[i].file) {
            fail(out, "bad-input", "update point %u of the patch has no file", i);
            goto out;
        }
    slots = calloc(p->nupdates + 1, sizeof *slots);
    steps = calloc(p->nxforms + 1, sizeof *steps);
    rec = calloc(1, sizeof *rec);
    defs = p->ndefs ? calloc(1, sizeof *defs) : NULL;
    newtypes = calloc(p->ntypes + 1, sizeof *newtypes);
    if (!slots || !steps || !rec || (p->ndefs && !defs) || !newtypes ||
        !(rec->path = strdup(path))) {
        fail(out, "rejected", "out of memory");
        goto out;
    }
    if (types_oom) {
        fail(out, "rejected",
             "out of memory when the process started: its wrapped types are unknown");
        goto out;
    }
    if (prepare_types(out, p, newtypes, &newtypes_tail) < 0)
        goto out;
    /* No update point can change the registry or the types meanwhile: only
     * a request from this thread does that, and none is pending. */
    if (check_xforms(out, p, steps) < 0)
        goto out;
    for (unsigned i = 0; i < p->nimports; i++) {
        const struct dsu_import *im = &p->imports[i];
        if (im->kind < DSU_IMPORT_SLOT || im->kind > DSU_IMPORT_TYPE || !im->cell) {
            fail(out, "bad-input", "import %s has an invalid kind %u or no cell",
                 im->name ? im->name : "(null)", im->kind);
            goto out;
        }
        if (im->kind == DSU_IMPORT_TYPE) {
            if (!resolve_type_import(out, p, im))
                goto out;
        } else if (!resolve(out, "import", im->name, im->type_hash,
                            im->kind == DSU_IMPORT_VAR ? DSU_VAR : DSU_FUNC)) {
            goto out;
        }
    }
    for (unsigned i = 0; i < p->nupdates; i++) {
        const struct dsu_sym *e = resolve(out, "update", p->updates[i].name,
                                          p->updates[i].type_hash, DSU_FUNC);
        if (!e)
            goto out;
        slots[i] = e->slot;
    }
    if (check_points(out, p) < 0)
        goto out;
    if (p->npoints && !(newpoints = ptable_merge(points, p->points, p->npoints))) {
        fail(out, "rejected", "out of memory");
        goto out;
    }
    /* Everything checks: now the cells, which only the patch's own (not
     * yet reachable) code reads. */
    for (unsigned i = 0; i < p->nimports; i++) {
        const struct dsu_import *im = &p->imports[i];
        if (im->kind == DSU_IMPORT_TYPE) {
            *im->cell = &find_type(im->name)->pub;
            continue;
        }
        const struct dsu_sym *e = lookup(im->name);
        *im->cell = im->kind == DSU_IMPORT_SLOT ? (void *)e->slot : e->addr;
    }
    if (defs) {
        defs->syms = p->defs;
        defs->n = p->ndefs;
    }
    rec->from = p->from_version;
    rec->to = p->to_version;

    pthread_mutex_lock(&lock);
    req.patch = p;
    req.slots = slots;
    req.defs = defs;
    req.steps = steps;
    req.types = pending_types;
    req.types_tail = newtypes_tail;
    req.rec = rec;
    req.points = newpoints;
    req.deferred = 0;
    req.why_file = NULL;
    req.why_line = 0;
    req.why[0] = '\0';
    req.state = PENDING;
    __atomic_store_n(&dsu__pending, 1, __ATOMIC_RELEASE);
    long long t_posted = mono_ns();
    long long deadline = t_posted + timeout_ms * 1000000LL;
    /* Wait in short slices, answering STATUS requests in between, so the
     * process stays observable while it has not reached an update point. */
    while (req.state == PENDING) {
        long long now = mono_ns();
        if (now >= deadline)
            break;
        long long until = now + 20000000LL < deadline ? now + 20000000LL : deadline;
        struct timespec ts = {until / 1000000000LL, until % 1000000000LL};
        pthread_cond_timedwait(&done_cv, &lock, &ts);
        if (req.state != PENDING)
            break;
        pthread_mutex_unlock(&lock);
        struct pollfd pfd = {lfd, POLLIN, 0};
        if (listener_alive() && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN)) {
            int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0)
                serve(c, 1);
        }
        pthread_mutex_lock(&lock);
    }
    int applied = req.state == DONE, failed = req.state == FAILED;
    if (!applied)
        __atomic_store_n(&dsu__pending, 0, __ATOMIC_RELAXED);
    /* not applied: the merged table; applied: the table it replaced */
    newpoints = req.points;
    req.points = NULL;
    deferred = req.deferred;
    memcpy(why, req.why, sizeof why);
    req.state = IDLE;
    pthread_mutex_unlock(&lock);

    if (failed) {
        const char *name = p->states[req.failed_state].name;
        fail(out, "rejected", "state transformer for %s failed (returned %d); the update was "
             "rolled back", name ? name : "(null)", req.failed_ret);
        goto out;
    }
    if (!applied) {
        if (deferred)
            fail(out, "timeout", "no safe update point was reached in %.*f s (deferred %lu "
                 "time%s; last: %s)", timeout_ms % 100 ? 3 : 1, timeout_ms / 1000.0,
                 deferred, deferred == 1 ? "" : "s", why);
        else
            fail(out, "timeout", "no update point was reached within %lld ms; nothing was "
                 "changed", timeout_ms);
        goto out;
    }
    char where[4200];
    snprintf(where, sizeof where, "%s:%d", rec->up_file ? rec->up_file : "?", rec->up_line);
    long long pause_ns = rec->pause_ns;
    h = NULL, defs = NULL, steps = NULL, rec = NULL; /* now part of the running program */
    newtypes = NULL;
    jb_raw(out, "{\"ok\":true,\"code\":\"applied\",\"from\":");
    jb_str(out, p->from_version);
    jb_raw(out, ",\"to\":");
    jb_str(out, p->to_version);
    jb_fmt(out, ",\"pause_ns\":%lld,\"prepare_us\":%lld,\"deferred\":%lu,\"update_point\":",
           pause_ns, (t_posted - t0) / 1000, deferred);
    jb_str(out, where);
    jb_raw(out, ",\"summary\":");
    jb_str(out, p->summary);
    jb_raw(out, "}");
    say("applied %s (%s -> %s) at %s", path, p->from_version, p->to_version, where);
out:
    pending_types = NULL;  /* applied: now added_types; else freed below */
    if (h)
        release(h);
    ptable_free(newpoints);
    free(slots);
    free(defs);
    free(steps);
    free(newtypes);
    if (rec)
        free(rec->path);
    free(rec);
    close(fd);
}
