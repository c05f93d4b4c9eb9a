/* rt_status.c -- STATUS: the running version, the patches applied, the
 * wrapped types and update points, and a request that waits.
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
        jb_raw(out, ",\"sha256\":");
        jb_str(out, a->digest);
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
    int pending = req.state == PENDING || req.state == TAKEN;
    jb_fmt(out, "],\"pending\":%s", pending ? "true" : "false");
    if (pending) {
        jb_fmt(out, ",\"deferred\":%lu,\"deferred_reason\":", req.deferred);
        jb_str(out, req.why);
    }
    jb_raw(out, "}");
    pthread_mutex_unlock(&lock);
}
