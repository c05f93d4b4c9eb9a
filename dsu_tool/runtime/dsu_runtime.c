/* dsu_runtime.c -- the part of dsu that lives inside an updateable program.
 *
 * A control thread listens on the abstract Unix socket "\0dsu-<pid>" for
 * one request per connection (APPLY or STATUS, see below) and answers with
 * one JSON line.  An APPLY is checked and prepared entirely in the control
 * thread; the program itself is touched only at an update point
 * (DSU_update() -> dsu__update_point), where the prepared patch is
 * installed by a handful of pointer stores while the program's own thread
 * is known to be at a safe place.
 *
 * Wrapped struct types (see struct dsu_type) change layout lazily: a patch
 * brings a type transformer, the update point only appends it to the
 * type's chain, and each object is converted on its first access by new
 * code (dsu__convert), through every transformer since the layout its tag
 * names.
 *
 * A patch that changes a wrapped type must not be installed where code
 * still running after the update point uses the type's fields in the old
 * layout.  The program and every applied patch list their update points
 * with the wrapped types that are in use there (struct dsu_point); such a
 * patch waits for a point that uses none of the types it changes, and is
 * refused at once when no listed point can take it.
 *
 *   APPLY <timeout_ms> <absolute path>\n   ->  {"ok":true,"code":"applied",...}
 *   STATUS\n                               ->  {"ok":true,"pid":...,...}
 *
 * Failures answer {"ok":false,"code":C,"reason":R} with C one of
 * "bad-input", "rejected", "timeout".
 */
#define _GNU_SOURCE
#define DSU_UPDATEABLE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dsu.h"
#include "dsu_internal.h"

volatile int dsu__pending;

/* The linker defines these only if some object has a "dsu_syms" section;
 * weak so that a program without updateable definitions still links. */
extern const struct dsu_sym __start_dsu_syms[] __attribute__((weak, visibility("hidden")));
extern const struct dsu_sym __stop_dsu_syms[] __attribute__((weak, visibility("hidden")));
extern const struct dsu_type __start_dsu_types[] __attribute__((weak, visibility("hidden")));
extern const struct dsu_type __stop_dsu_types[] __attribute__((weak, visibility("hidden")));
extern const struct dsu_point __start_dsu_points[] __attribute__((weak, visibility("hidden")));
extern const struct dsu_point __stop_dsu_points[] __attribute__((weak, visibility("hidden")));

/* ---- state ------------------------------------------------------------ */

/* The registry is a list of tables, newest first: the program's own table
 * at the end, then the defs of each applied patch.  Lookup takes the first
 * match, so a patch's definition shadows the one it replaces. */
struct chunk {
    const struct chunk *next;
    const struct dsu_sym *syms;
    size_t n;
};

struct applied {
    struct applied *next;
    char *path;
    const char *from, *to;
    struct timespec at;
    long long pause_ns;
    const char *up_file;
    int up_line;
};

/* Patch objects this runtime holds open, with the file each came from.
 * Needed because dlopen matches "/proc/self/fd/N" by *name* against
 * objects loaded earlier through the same fd number (see load_patch). */
struct loaded {
    struct loaded *next;
    void *handle;
    dev_t dev;
    ino_t ino;
    unsigned refs;
};

/* One applied type transformer.  The fields dsu__convert needs are
 * copied out of the patch so that a conversion walks only these nodes. */
struct step {
    struct step *next;
    unsigned from_tag, to_tag;
    int (*convert)(void *obj);
    struct type *type;
    const struct dsu_xform *x;   /* the patch stays loaded once applied */
    const struct dsu_patch *patch;
};

/* A wrapped type.  `pub` must come first: patch code gets &pub through
 * its DSU_IMPORT_TYPE cell and dsu__convert gets it back. */
struct type {
    struct dsu_type_state pub;
    const struct dsu_type *prog; /* name, size, tag offset, base layout */
    const char *layout;          /* the layout new code uses now */
    unsigned tag;
    int conflict;                /* the program's entries disagree */
    unsigned nsteps;
    struct step *steps, **tail;
    struct type *next_added;     /* introduced by a patch: the next one */
};

/* The merged table of update points, kept sorted by (file, line).  Its
 * strings belong to the program or to an applied patch, which stays
 * loaded; only the restricted arrays are the runtime's own, because a
 * point listed by several versions restricts the union of their sets:
 * code of any of them may still be running there. */
struct upoint {
    const char *file;
    unsigned line;
    const char *function;
    const char **restricted; /* NULL-terminated */
    size_t nrestricted;
};

struct ptable {
    size_t n;
    struct upoint *v;
};

static struct chunk program_table;
static struct type *types;
static size_t ntypes;
/* Types introduced by applied patches, newest first, each allocated for
 * good (patch code holds &pub); and, while the control thread prepares a
 * patch, those it would introduce. */
static struct type *added_types, *pending_types;
static int types_oom;
static struct ptable no_points;
/* Replaced (never changed in place) by the update point that applies a
 * patch with points, so the control thread reads it without the lock
 * while no request is pending. */
static struct ptable *points = &no_points;
static int points_oom;
static const struct chunk *registry;
static const char *cur_version, *cur_id;
static struct applied *applied_head, **applied_tail = &applied_head;
static struct loaded *loaded;        /* control thread only */
static int verbose;

/* The hand-off between the control thread and an update point.  `lock`
 * makes taking the request (update point) and withdrawing it (timeout)
 * mutually exclusive, so a patch is either installed completely or not at
 * all; it also orders the prepared data before the update point reads it. */
enum { IDLE, PENDING, DONE, FAILED };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv;
static struct {
    int state;
    const struct dsu_patch *patch;
    void ***slots;            /* the slot each update writes */
    struct chunk *defs;       /* allocated beforehand: installing cannot fail */
    struct step *steps;       /* one per xform, linked in by the update point */
    struct type *types;       /* types the patch introduces, and the tail */
    struct type **types_tail; /* of their list */
    struct applied *rec;      /* filled in by the update point */
    unsigned failed_state;    /* FAILED: which state transformer, */
    int failed_ret;           /* and what it returned */
    struct ptable *points;    /* the table with the patch's points merged
                                 in; the update point swaps it for the old */
    unsigned long deferred;   /* update points that could not take it */
    const char *why_file;     /* the point `why` describes */
    int why_line;
    char why[512];
} req;

/* The listening socket, remembered by identity so that we notice when the
 * program closes it (daemons close every fd) and never touch an fd number
 * the program has reused for something of its own. */
static int lfd = -1;
static dev_t l_dev;
static ino_t l_ino;

/* Connections being served (the outer one, and a STATUS served while an
 * APPLY waits), so that a forked child can drop its copies. */
static int conns[2] = {-1, -1};

static long long ns_of(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static long long mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return ns_of(t);
}

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

/* ---- the update point ------------------------------------------------- */

void dsu__update_point(const char *file, int line)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&lock);
    if (req.state != PENDING) { /* withdrawn, or another thread took it */
        pthread_mutex_unlock(&lock);
        return;
    }
    const struct dsu_patch *p = req.patch;
    /* Only a patch that changes types can break code that is still running
     * here; where the tables know nothing, assume the worst. */
    if (p->nxforms) {
        const struct upoint *pt = ptable_find(points, file, (unsigned)line);
        if (!pt || conflicts(pt, p)) {
            req.deferred++;
            /* the same point is usually hit again and again */
            if (file != req.why_file || line != req.why_line) {
                explain_deferral(p, pt, file, line);
                req.why_file = file;
                req.why_line = line;
            }
            pthread_mutex_unlock(&lock);
            return;
        }
    }
    /* cleared before the state transformers run: one that reaches
     * DSU_update() must not re-enter and deadlock on `lock` */
    __atomic_store_n(&dsu__pending, 0, __ATOMIC_RELAXED);
    /* State transformers can fail, so they run before the first change.
     * They write only storage the patch owns, which is discarded with the
     * patch on failure: nothing of the program needs undoing. */
    for (unsigned i = 0; i < p->nstates; i++) {
        int r = p->states[i].transform();
        if (r != 0) {
            req.failed_state = i;
            req.failed_ret = r;
            req.state = FAILED;
            pthread_cond_signal(&done_cv);
            pthread_mutex_unlock(&lock);
            return;
        }
    }
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
    if (req.points) { /* the control thread frees what it gets back */
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
    pthread_cond_signal(&done_cv);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    req.rec->pause_ns = ns_of(t1) - ns_of(t0);
    pthread_mutex_unlock(&lock);
}

const char *dsu_version(void)
{
    return __atomic_load_n(&cur_version, __ATOMIC_ACQUIRE);
}

/* ---- lazy conversion of wrapped objects ------------------------------- */

/* Called by new code only after its inline check (type changed, tag not
 * TARGET) failed, on the program's thread.  Programs are single-threaded
 * for now, and the chain is changed only at an update point on that same
 * thread, so the chain is read without locking.
 *
 * A transformer that fails leaves the object half converted, with running
 * code about to use it in the new layout; there is no earlier state to go
 * back to (the update was committed long ago), so the only safe outcome is
 * to stop the process rather than let it compute with a corrupt object. */
void dsu__convert(struct dsu_type_state *type, void *obj, unsigned target)
{
    const struct type *t = (const struct type *)type;
    unsigned *tagp = (unsigned *)((char *)obj + t->prog->tag_offset);
    unsigned tag = *tagp;
    if (tag == target)
        return;
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
        *tagp = s->to_tag;
        if (s->to_tag == target)
            return;
    }
}

/* ---- JSON output ------------------------------------------------------ */

struct jbuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void jb_put(struct jbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 512;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void jb_raw(struct jbuf *b, const char *s) { jb_put(b, s, strlen(s)); }

static void jb_fmt(struct jbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void jb_fmt(struct jbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        jb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Length of the valid UTF-8 sequence at s, or 0.  Paths and symbol names
 * are bytes; JSON must be UTF-8, so invalid bytes become U+FFFD. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : 0;
    if (s[0] >= 0xF5)
        return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

static void jb_str(struct jbuf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    jb_put(b, "\"", 1);
    while (*s) {
        if (*s == '"' || *s == '\\') {
            char e[2] = {'\\', (char)*s};
            jb_put(b, e, 2);
            s++;
        } else if (*s == '\n') {
            jb_raw(b, "\\n"), s++;
        } else if (*s == '\t') {
            jb_raw(b, "\\t"), s++;
        } else if (*s < 0x20) {
            jb_fmt(b, "\\u%04x", *s++);
        } else if (*s < 0x80) {
            jb_put(b, (const char *)s++, 1);
        } else {
            int n = utf8_len(s);
            if (n) {
                jb_put(b, (const char *)s, (size_t)n);
                s += n;
            } else {
                jb_raw(b, "\\ufffd"), s++;
            }
        }
    }
    jb_put(b, "\"", 1);
}

/* ---- replies ---------------------------------------------------------- */

static void send_all(int c, const char *s, size_t n)
{
    while (n > 0) {
        /* MSG_NOSIGNAL: a client that went away must not raise SIGPIPE */
        ssize_t w = send(c, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void reply(int c, struct jbuf *b)
{
    static const char oom[] = "{\"ok\":false,\"code\":\"rejected\",\"reason\":\"out of memory\"}\n";
    jb_raw(b, "\n");
    if (b->oom)
        send_all(c, oom, sizeof oom - 1);
    else
        send_all(c, b->p, b->len);
    free(b->p);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    if (!verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("dsu: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Fills OUT with a failure answer; returns -1 for the caller to pass on. */
static int fail(struct jbuf *out, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct jbuf *out, const char *code, const char *fmt, ...)
{
    char reason[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    jb_raw(out, "{\"ok\":false,\"code\":");
    jb_str(out, code);
    jb_raw(out, ",\"reason\":");
    jb_str(out, reason);
    jb_raw(out, "}");
    say("%s: %s", code, reason);
    return -1;
}

/* ---- loading a patch -------------------------------------------------- */

static struct loaded *find_loaded(void *h)
{
    for (struct loaded *l = loaded; l; l = l->next)
        if (l->handle == h)
            return l;
    return NULL;
}

static void release(void *h)
{
    struct loaded **pl = &loaded;
    while (*pl && (*pl)->handle != h)
        pl = &(*pl)->next;
    dlclose(h);
    if (*pl && --(*pl)->refs == 0) {
        struct loaded *l = *pl;
        *pl = l->next;
        free(l);
    }
}

/* A truncated or mangled shared object can make the dynamic loader fault
 * inside this process (it maps segments that the file does not hold and
 * touches them).  So before dlopen: the ELF header must be ours (class,
 * byte order, machine, a shared object) and every program header, segment
 * and the section table must lie within the file.  Returns NULL if it is
 * well formed, else why not. */
static const char *check_elf(int fd, off_t size, char *why, size_t n)
{
    ElfW(Ehdr) eh;
#if defined(__x86_64__)
    const unsigned machine = EM_X86_64;
#elif defined(__aarch64__)
    const unsigned machine = EM_AARCH64;
#else
    const unsigned machine = 0;
#endif
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG))
        return "not an ELF file";
    if (eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
        eh.e_ident[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB))
        return "an ELF file for another kind of machine";
    if (eh.e_type != ET_DYN)
        return "not a shared object";
    if (machine && eh.e_machine != machine)
        return "a shared object for another architecture";
    if (eh.e_phentsize != sizeof(ElfW(Phdr)) || eh.e_phnum == 0 ||
        eh.e_phoff > (ElfW(Off))size ||
        (ElfW(Off))eh.e_phnum * sizeof(ElfW(Phdr)) > (ElfW(Off))size - eh.e_phoff)
        return "truncated or corrupt (program headers)";
    if (eh.e_shoff && (eh.e_shentsize != sizeof(ElfW(Shdr)) || eh.e_shoff > (ElfW(Off))size ||
                       (ElfW(Off))eh.e_shnum * sizeof(ElfW(Shdr)) > (ElfW(Off))size - eh.e_shoff))
        return "truncated or corrupt (section headers)";
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        ElfW(Phdr) ph;
        if (pread(fd, &ph, sizeof ph, eh.e_phoff + (off_t)i * sizeof ph) != (ssize_t)sizeof ph)
            return "truncated or corrupt (program headers)";
        if (ph.p_filesz && (ph.p_offset > (ElfW(Off))size ||
                            ph.p_filesz > (ElfW(Off))size - ph.p_offset)) {
            snprintf(why, n, "truncated or corrupt: segment %u needs bytes up to %llu, "
                     "the file has %llu", i, (unsigned long long)(ph.p_offset + ph.p_filesz),
                     (unsigned long long)size);
            return why;
        }
        if (ph.p_type == PT_LOAD && ph.p_filesz > ph.p_memsz)
            return "corrupt (a segment larger on file than in memory)";
    }
    return NULL;
}

/* dlopen()s the already opened and checked file FD through /proc/self/fd,
 * so what gets mapped is exactly the file we looked at.  glibc first
 * compares the *name* with those of loaded objects, so "/proc/self/fd/5"
 * can yield a different patch loaded earlier through fd 5; we detect that
 * by the file identity we recorded and ask again under another fd number.
 * (Re-opening the same file under any name correctly yields its handle.) */
static void *load_patch(int fd, const struct stat *st, const char **err)
{
    void *h = NULL;
    int cur = fd;
    /* each loaded object can hold a few such names (dlopen adds aliases) */
    unsigned tries = 64;
    for (struct loaded *l = loaded; l; l = l->next)
        tries += 2;
    *err = NULL;
    while (tries-- > 0) {
        char name[64];
        snprintf(name, sizeof name, "/proc/self/fd/%d", cur);
        h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            *err = dlerror();
            break;
        }
        struct loaded *l = find_loaded(h);
        if (!l) {
            if (!(l = calloc(1, sizeof *l))) {
                dlclose(h), h = NULL;
                *err = "out of memory";
                break;
            }
            l->handle = h;
            l->dev = st->st_dev;
            l->ino = st->st_ino;
            l->next = loaded;
            loaded = l;
        }
        if (l->dev == st->st_dev && l->ino == st->st_ino) {
            l->refs++;
            break;
        }
        dlclose(h), h = NULL;
        int next = fcntl(fd, F_DUPFD_CLOEXEC, cur + 1);
        if (cur != fd)
            close(cur);
        cur = next;
        if (cur < 0) {
            *err = strerror(errno);
            cur = fd;
            break;
        }
    }
    if (cur != fd)
        close(cur);
    if (!h && !*err)
        *err = "the dynamic loader keeps returning another patch";
    return h;
}

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

__attribute__((constructor)) static void dsu_runtime_init(void)
{
    const struct dsu_sym *start = __start_dsu_syms, *stop = __stop_dsu_syms;
    if (start && stop > start) {
        program_table.syms = start;
        program_table.n = (size_t)(stop - start);
    }
    init_types();
    init_points();
    registry = &program_table;
    cur_version = dsu__program_version;
    cur_id = dsu__program_version_id;
    const char *v = getenv("DSU_VERBOSE");
    verbose = v && strcmp(v, "1") == 0;
    init_sync();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    start_control_thread();
}
