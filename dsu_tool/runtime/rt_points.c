/* rt_points.c -- the merged table of update points and why a patch waits.
 * Part of the single translation unit dsu_runtime.c (everything stays
 * static there); not compiled on its own. */

/* ---- update points ----------------------------------------------------- */

/* A bounded string builder that cannot fail: reasons are formatted at
 * update points, where allocating would be out of place. */
struct sbuf {
    char *p;
    size_t cap, len;
};

static void sb_fmt(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_fmt(struct sbuf *b, const char *fmt, ...)
{
    if (b->len + 1 >= b->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len = b->len + (size_t)n < b->cap ? b->len + (size_t)n : b->cap - 1;
}

static void ptable_free(struct ptable *t)
{
    if (!t || t == &no_points)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].restricted);
    free(t->v);
    free(t);
}

static struct upoint *ptable_find(const struct ptable *t, const char *file, unsigned line)
{
    for (size_t i = 0; file && i < t->n; i++)
        if (t->v[i].line == line && strcmp(t->v[i].file, file) == 0)
            return &t->v[i];
    return NULL;
}

static int restricts(const struct upoint *pt, const char *type)
{
    for (size_t i = 0; type && i < pt->nrestricted; i++)
        if (strcmp(pt->restricted[i], type) == 0)
            return 1;
    return 0;
}

/* The types a patch changes are those of its transformers. */
static int conflicts(const struct upoint *pt, const struct dsu_patch *p)
{
    for (unsigned i = 0; i < p->nxforms; i++)
        if (restricts(pt, p->xforms[i].type))
            return 1;
    return 0;
}

/* Adds SRC to T (room for one more entry guaranteed), or unions its set
 * into the entry T has for the same place. */
static int ptable_add(struct ptable *t, const struct dsu_point *src)
{
    struct upoint *pt = ptable_find(t, src->file, src->line);
    if (!pt) {
        pt = &t->v[t->n];
        *pt = (struct upoint){src->file, src->line, src->function, NULL, 0};
        if (!(pt->restricted = calloc(1, sizeof *pt->restricted)))
            return -1;
        t->n++;
    } else if (src->function) {
        pt->function = src->function; /* the newest version's name for it */
    }
    for (const char *const *r = src->restricted; r && *r; r++) {
        if (restricts(pt, *r))
            continue;
        const char **nr = realloc(pt->restricted, (pt->nrestricted + 2) * sizeof *nr);
        if (!nr)
            return -1;
        nr[pt->nrestricted++] = *r;
        nr[pt->nrestricted] = NULL;
        pt->restricted = nr;
    }
    return 0;
}

static int upoint_cmp(const void *a, const void *b)
{
    const struct upoint *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : x->line < y->line ? -1 : x->line > y->line;
}

/* A new table: BASE with the N points at ADD merged in (entries without a
 * file are skipped); NULL when out of memory. */
static struct ptable *ptable_merge(const struct ptable *base, const struct dsu_point *add,
                                   size_t n)
{
    struct ptable *t = calloc(1, sizeof *t);
    if (!t || !(t->v = calloc(base->n + n + 1, sizeof *t->v))) {
        free(t);
        return NULL;
    }
    for (size_t i = 0; i < base->n; i++) {
        const struct upoint *b = &base->v[i];
        const char **r = malloc((b->nrestricted + 1) * sizeof *r);
        if (!r) {
            ptable_free(t);
            return NULL;
        }
        memcpy(r, b->restricted, (b->nrestricted + 1) * sizeof *r);
        t->v[t->n++] = (struct upoint){b->file, b->line, b->function, r, b->nrestricted};
    }
    for (size_t i = 0; i < n; i++)
        if (add[i].file && ptable_add(t, &add[i]) < 0) {
            ptable_free(t);
            return NULL;
        }
    qsort(t->v, t->n, sizeof *t->v, upoint_cmp);
    return t;
}

/* Appends the names of the types the patch changes for which IN(type, ctx)
 * holds, as "A", "A and B" or "A, B and C"; returns how many. */
static unsigned sb_types(struct sbuf *b, const struct dsu_patch *p,
                         int (*in)(const char *type, const void *ctx), const void *ctx)
{
    unsigned n = 0, k = 0;
    for (unsigned i = 0; i < p->nxforms; i++)
        n += in(p->xforms[i].type, ctx) != 0;
    for (unsigned i = 0; i < p->nxforms; i++) {
        if (!in(p->xforms[i].type, ctx))
            continue;
        sb_fmt(b, "%s%s", k == 0 ? "" : k + 1 == n ? " and " : ", ", p->xforms[i].type);
        k++;
    }
    return n;
}

static int restricted_at(const char *type, const void *pt) { return restricts(pt, type); }

static int restricted_anywhere(const char *type, const void *unused)
{
    (void)unused;
    for (size_t i = 0; i < points->n; i++)
        if (restricts(&points->v[i], type))
            return 1;
    return 0;
}

/* Why the pending patch cannot be installed at FILE:LINE (PT its entry, or
 * NULL if the tables do not list it), into req.why. */
static void explain_deferral(const struct dsu_patch *p, const struct upoint *pt,
                             const char *file, int line)
{
    struct sbuf b = {req.why, sizeof req.why, 0};
    req.why[0] = '\0';
    if (!pt) {
        sb_fmt(&b, "%s:%d is not a known update point", file ? file : "?", line);
        return;
    }
    unsigned n = sb_types(&b, p, restricted_at, pt);
    sb_fmt(&b, " %s in use at %s:%u", n == 1 ? "is" : "are", pt->file, pt->line);
    if (pt->function)
        sb_fmt(&b, " (%s)", pt->function);
}
