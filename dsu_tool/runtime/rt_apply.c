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

/* Refuses at once an update of a process whose threads cannot be
 * counted (see rt_threads.c). */
static int check_threads(struct jbuf *out)
{
    char why[sizeof req.why];
    struct sbuf b = {why, sizeof why, 0};
    struct census c;
    why[0] = '\0';
    pthread_mutex_lock(&lock);
    int r = census(&c, &b);
    pthread_mutex_unlock(&lock);
    return r < 0 ? fail(out, "rejected", "%s", why) : 0;
}

/* ---- APPLY, in named steps ------------------------------------------ */

/* Frees what the job holds that the running program does not own. */
static void job_release(void)
{
    pending_types = NULL; /* applied: now added_types; else freed below */
    if (job.h)
        release(job.h);
    ptable_free(job.newpoints);
    free(job.slots);
    free(job.defs);
    free(job.steps);
    free(job.newtypes);
    if (job.rec)
        free(job.rec->path);
    free(job.rec);
    free(job.path);
    memset(&job, 0, sizeof job);
}

/* Step 1: the file the client passed (FD, opened by it with O_NOFOLLOW):
 * a regular file that only the process's user or root can write; its
 * bytes, read once, must be those the client checked (DIGEST, if given)
 * and pass validate_patch.  Fills PF and *BYTES. */
static int apply_read_patch(struct jbuf *out, int fd, const char *digest,
                            struct patch_file *pf, unsigned char **bytes)
{
    const char *path = job.path;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return fail(out, "bad-input", "cannot stat %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail(out, "rejected", "%s is not a regular file", path);
    if (st.st_uid != geteuid() && st.st_uid != 0)
        return fail(out, "rejected", "%s is owned by uid %u, neither the process's user (uid %u) "
                    "nor root", path, (unsigned)st.st_uid, (unsigned)geteuid());
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return fail(out, "rejected", "%s is writable by %s (mode %04o)", path,
                    (st.st_mode & S_IWOTH) ? "others" : "its group",
                    (unsigned)(st.st_mode & 07777));
    if (st.st_size > (off_t)1 << 30)
        return fail(out, "bad-input", "%s is too large for a patch (%lld bytes)", path,
                    (long long)st.st_size);
    if (!(*bytes = read_all(fd, (size_t)st.st_size)))
        return fail(out, "bad-input", "cannot read %s: %s", path, strerror(errno));
    pf->bytes = *bytes;
    pf->size = (size_t)st.st_size;
    sha256_hex(pf->bytes, pf->size, pf->digest);
    memcpy(job.digest, pf->digest, sizeof job.digest);
    if (digest && strcmp(digest, pf->digest) != 0)
        return fail(out, "rejected", "%s changed while it was being sent (sha256 %s checked by "
                    "the client, %s received)", path, digest, pf->digest);
    char why[200];
    const char *bad = validate_patch(pf->bytes, pf->size, pf, why, sizeof why);
    if (bad)
        return fail(out, "bad-input", "%s is %s", path, bad);
    return 0;
}

/* Step 2: the record, from the bytes: nothing is loaded for a patch of
 * another ABI or for another version. */
static int apply_check_record(struct jbuf *out, const struct patch_file *pf)
{
    const char *path = job.path;
    if (pf->magic != DSU_PATCH_MAGIC)
        return fail(out, "bad-input", "%s is not a dsu patch (bad magic 0x%08x)", path,
                    pf->magic);
    if (pf->abi != DSU_ABI_VERSION)
        return fail(out, "rejected", "%s was built for runtime ABI %u, this runtime has ABI %u",
                    path, pf->abi, DSU_ABI_VERSION);
    if (!same(pf->from_id, cur_id))
        return fail(out, "rejected", "the patch applies to %s %s (id %s), but the process runs "
                    "%s %s (id %s)", pf->program ? pf->program : "?",
                    pf->from_version ? pf->from_version : "?", pf->from_id ? pf->from_id : "",
                    dsu__program_name, cur_version, cur_id);
    return 0;
}

/* Step 3: loads a sealed copy of exactly the checked bytes, and makes sure
 * the loader found the record validate_patch read. */
static int apply_load(struct jbuf *out, const struct patch_file *pf)
{
    const char *path = job.path, *err = NULL;
    struct stat st;
    int mfd = sealed_copy(pf->bytes, pf->size);
    if (mfd < 0)
        return fail(out, "rejected", "cannot make a sealed copy of %s to load (memfd_create: "
                    "%s)", path, strerror(errno));
    if (fstat(mfd, &st) < 0 || !(job.h = load_patch(mfd, &st, &err))) {
        if (!err)
            err = strerror(errno);
        close(mfd);
        /* unresolved symbols or missing libraries mean "not for this
         * process"; anything else means the file itself is broken */
        int foreign = strstr(err, "undefined symbol") || strstr(err, "cannot open shared object");
        const char *colon = strchr(err, ':'); /* drop the "/proc/self/fd/N" */
        if (strncmp(err, "/proc/self/fd/", 14) == 0 && colon)
            err = colon + strspn(colon, ": ");
        return fail(out, foreign ? "rejected" : "bad-input", "%s: %s", path, err);
    }
    close(mfd);
    struct link_map *lm = NULL;
    const struct dsu_patch *p = dlsym(job.h, "dsu_patch");
    if (!p || dlinfo(job.h, RTLD_DI_LINKMAP, &lm) < 0 || !lm ||
        (uintptr_t)p != lm->l_addr + pf->record || p->magic != pf->magic ||
        p->abi != pf->abi || !same(p->from_id, pf->from_id))
        return fail(out, "bad-input", "%s: the dynamic loader found another dsu_patch than the "
                    "one its bytes hold", path);
    job.p = p;
    return 0;
}

/* Step 4: everything the patch needs exists in the running program, as
 * the patch expects it; prepares what the update point will install, so
 * that installing cannot fail. */
static int apply_check(struct jbuf *out)
{
    const struct dsu_patch *p = job.p;
    const char *path = job.path;
    if ((p->nxforms && !p->xforms) || (p->nstates && !p->states))
        return fail(out, "bad-input", "%s lists transformers it does not have", path);
    for (unsigned i = 0; i < p->nstates; i++)
        if (!p->states[i].transform)
            return fail(out, "bad-input", "the state transformer for %s has no function",
                        p->states[i].name ? p->states[i].name : "(null)");
    if (p->ntypes && !p->types)
        return fail(out, "bad-input", "%s lists types it does not have", path);
    if (p->npoints && !p->points)
        return fail(out, "bad-input", "%s lists update points it does not have", path);
    for (unsigned i = 0; i < p->npoints; i++)
        if (!p->points[i].file)
            return fail(out, "bad-input", "update point %u of the patch has no file", i);
    job.slots = calloc(p->nupdates + 1, sizeof *job.slots);
    job.steps = calloc(p->nxforms + 1, sizeof *job.steps);
    job.rec = calloc(1, sizeof *job.rec);
    job.defs = p->ndefs ? calloc(1, sizeof *job.defs) : NULL;
    job.newtypes = calloc(p->ntypes + 1, sizeof *job.newtypes);
    if (!job.slots || !job.steps || !job.rec || (p->ndefs && !job.defs) || !job.newtypes ||
        !(job.rec->path = strdup(path)))
        return fail(out, "rejected", "out of memory");
    if (types_oom)
        return fail(out, "rejected",
                    "out of memory when the process started: its wrapped types are unknown");
    if (prepare_types(out, p, job.newtypes, &job.newtypes_tail) < 0)
        return -1;
    /* No update point can change the registry or the types meanwhile: only
     * a request from this thread does that, and none is pending. */
    if (check_xforms(out, p, job.steps) < 0)
        return -1;
    for (unsigned i = 0; i < p->nimports; i++) {
        const struct dsu_import *im = &p->imports[i];
        if (im->kind < DSU_IMPORT_SLOT || im->kind > DSU_IMPORT_TYPE || !im->cell)
            return fail(out, "bad-input", "import %s has an invalid kind %u or no cell",
                        im->name ? im->name : "(null)", im->kind);
        if (im->kind == DSU_IMPORT_TYPE) {
            if (!resolve_type_import(out, p, im))
                return -1;
        } else if (!resolve(out, "import", im->name, im->type_hash,
                            im->kind == DSU_IMPORT_VAR ? DSU_VAR : DSU_FUNC)) {
            return -1;
        }
    }
    for (unsigned i = 0; i < p->nupdates; i++) {
        const struct dsu_sym *e = resolve(out, "update", p->updates[i].name,
                                          p->updates[i].type_hash, DSU_FUNC);
        if (!e)
            return -1;
        job.slots[i] = e->slot;
    }
    if (check_points(out, p) < 0)
        return -1;
    if (check_threads(out) < 0)
        return -1;
    if (p->npoints && !(job.newpoints = ptable_merge(points, p->points, p->npoints)))
        return fail(out, "rejected", "out of memory");
    return 0;
}

/* Step 5: fills the patch's cells (only its own, not yet reachable, code
 * reads them) and posts the request for an update point. */
static void apply_post(void)
{
    const struct dsu_patch *p = job.p;
    for (unsigned i = 0; i < p->nimports; i++) {
        const struct dsu_import *im = &p->imports[i];
        if (im->kind == DSU_IMPORT_TYPE) {
            *im->cell = &find_type(im->name)->pub;
            continue;
        }
        const struct dsu_sym *e = lookup(im->name);
        *im->cell = im->kind == DSU_IMPORT_SLOT ? (void *)e->slot : e->addr;
    }
    if (job.defs) {
        job.defs->syms = p->defs;
        job.defs->n = p->ndefs;
    }
    job.rec->from = p->from_version;
    job.rec->to = p->to_version;
    memcpy(job.rec->digest, job.digest, sizeof job.digest);

    pthread_mutex_lock(&lock);
    req.patch = p;
    req.slots = job.slots;
    req.defs = job.defs;
    req.steps = job.steps;
    req.types = pending_types;
    req.types_tail = job.newtypes_tail;
    req.rec = job.rec;
    req.points = job.newpoints;
    job.newpoints = NULL; /* the request's now */
    req.deferred = 0;
    req.why_file = NULL;
    req.why_line = 0;
    req.why[0] = '\0';
    req.census_next = 0;
    req.outsiders = 0;
    req.state = PENDING;
    job.t_posted = mono_ns();
    __atomic_store_n(&dsu__pending, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
}

/* Starts an APPLY of the file FD that the client names PATH, to be
 * installed within TIMEOUT_MS of now.  Returns 1 when the request waits
 * for an update point (see apply_outcome), 0 when OUT has the answer. */
static int apply_start(struct jbuf *out, long long timeout_ms, int fd, const char *path,
                       const char *digest)
{
    struct patch_file pf = {0};
    unsigned char *bytes = NULL;
    memset(&job, 0, sizeof job);
    job.t0 = mono_ns();
    job.deadline = job.t0 + timeout_ms * 1000000LL;
    job.timeout_ms = timeout_ms;
    if (!(job.path = strdup(path))) {
        fail(out, "rejected", "out of memory");
        return 0;
    }
    int bad = apply_read_patch(out, fd, digest, &pf, &bytes) < 0 ||
              apply_check_record(out, &pf) < 0 || apply_load(out, &pf) < 0 ||
              apply_check(out) < 0;
    release_all(bytes, pf.size);
    if (bad) {
        job_release();
        return 0;
    }
    apply_post();
    job.active = 1;
    return 1;
}

/* The outcome of the posted request, once there is one: installed,
 * rolled back, or withdrawn because its time ran out or (GONE) its client
 * went away.  A withdrawn request can never be taken afterwards: taking
 * and withdrawing are exclusive under `lock`.  Returns 0 while it waits,
 * else 1 with the answer in OUT (unless GONE) and the job ended. */
static int apply_outcome(struct jbuf *out, int gone)
{
    unsigned long deferred;
    char why[sizeof req.why], threads_why[1024];
    struct sbuf tw = {threads_why, sizeof threads_why, 0};
    int refused = 0;
    pthread_mutex_lock(&lock);
    int state = req.state;
    if (state == TAKEN || (state == PENDING && !gone && mono_ns() < job.deadline)) {
        pthread_mutex_unlock(&lock);
        return 0;
    }
    threads_why[0] = '\0';
    if (state == PENDING) {
        __atomic_store_n(&dsu__pending, poll_mode, __ATOMIC_RELAXED);
        /* A thread that never took part is a reason to refuse, not to
         * wait longer; the others' positions say why it timed out. */
        struct census c;
        if (census(&c, &tw) < 0)
            refused = 1;
        else if (c.total > 1 && c.outsiders > 0)
            refused = 1, explain_outsiders(&c, &tw, job.timeout_ms);
        else if (c.total > 1)
            explain_running(job.p, &tw);
        pthread_cond_broadcast(&park_cv); /* the parked threads go on */
    }
    /* not applied: the merged table; applied: the table it replaced */
    job.newpoints = req.points;
    req.points = NULL;
    deferred = req.deferred;
    memcpy(why, req.why, sizeof why);
    req.state = IDLE;
    pthread_mutex_unlock(&lock);

    const struct dsu_patch *p = job.p;
    long long timeout_ms = job.timeout_ms;
    if (state == PENDING && refused && !gone) {
        fail(out, "rejected", "%s", threads_why);
    } else if (state == FAILED) {
        const char *name = p->states[req.failed_state].name;
        fail(out, "rejected", "state transformer for %s failed (returned %d); the update was "
             "rolled back", name ? name : "(null)", req.failed_ret);
    } else if (state == PENDING && gone) {
        say("%s: withdrawn, its client went away", job.path);
    } else if (state == PENDING && deferred) {
        fail(out, "timeout", "no safe update point was reached in %.*f s (deferred %lu "
             "time%s; last: %s)%s%s", timeout_ms % 100 ? 3 : 1, timeout_ms / 1000.0,
             deferred, deferred == 1 ? "" : "s", why, threads_why[0] ? "; " : "",
             threads_why);
    } else if (state == PENDING) {
        fail(out, "timeout", "no update point was reached within %lld ms%s%s; nothing was "
             "changed", timeout_ms, threads_why[0] ? ": " : "", threads_why);
    } else { /* DONE */
        struct applied *rec = job.rec;
        char where[4200];
        snprintf(where, sizeof where, "%s:%d", rec->up_file ? rec->up_file : "?", rec->up_line);
        /* now part of the running program */
        job.h = NULL, job.defs = NULL, job.steps = NULL, job.rec = NULL, job.newtypes = NULL;
        jb_raw(out, "{\"ok\":true,\"code\":\"applied\",\"from\":");
        jb_str(out, p->from_version);
        jb_raw(out, ",\"to\":");
        jb_str(out, p->to_version);
        jb_fmt(out, ",\"pause_ns\":%lld,\"prepare_us\":%lld,\"deferred\":%lu,\"update_point\":",
               rec->pause_ns, (job.t_posted - job.t0) / 1000, deferred);
        jb_str(out, where);
        jb_raw(out, ",\"sha256\":");
        jb_str(out, rec->digest);
        jb_raw(out, ",\"summary\":");
        jb_str(out, p->summary);
        jb_raw(out, "}");
        say("applied %s (%s -> %s) at %s", job.path, p->from_version, p->to_version, where);
    }
    job_release();
    return 1;
}
