/* runtime_state.h -- the runtime's private state, shared by its parts.
 *
 * Each field says which thread owns it: "program" (written only at an
 * update point, on the program's thread), "control" (the control
 * thread), or "lock" (read and written only with `lock` held).  Fields
 * the update point replaces are read by the control thread only while no
 * request is pending. */

#ifndef DSU_RUNTIME_STATE_H
#define DSU_RUNTIME_STATE_H

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
    char digest[65]; /* sha256 of the patch file, hex */
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

/* Written once by the constructor, read-only afterwards. */
static struct chunk program_table;
static struct type *types;       /* the nodes: program (update point) */
static size_t ntypes;
static int types_oom;
static struct ptable no_points;
static int points_oom;
static int verbose;
/* Types introduced by applied patches, newest first, each allocated for
 * good (patch code holds &pub): owner program (the update point links
 * them in).  Those the control thread's request would introduce: owner
 * control. */
static struct type *added_types, *pending_types;
/* Replaced (never changed in place) by the update point that applies a
 * patch with points, so the control thread reads it without the lock
 * while no request is pending.  Owner program. */
static struct ptable *points = &no_points;
/* Owner program (the update point prepends a patch's defs); read by the
 * control thread while no request is pending. */
static const struct chunk *registry;
/* Owner program; read under `lock` by STATUS (cur_version also
 * atomically by dsu_version). */
static const char *cur_version, *cur_id;
static struct applied *applied_head, **applied_tail = &applied_head;
/* Owner control. */
static struct loaded *loaded;

/* The hand-off between the control thread and an update point.  `lock`
 * makes taking the request (update point: PENDING -> TAKEN) and
 * withdrawing it (timeout, client gone: PENDING -> IDLE) mutually
 * exclusive, so a patch is either installed completely or not at all; it
 * also orders the prepared data before the update point reads it.  The
 * lock is not held while state transformers run (TAKEN): fork() handlers
 * take it, and a transformer may fork. */
enum { IDLE, PENDING, TAKEN, DONE, FAILED };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct { /* owner: lock */
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
    char why[512];            /* the last deferral's reason */
    long long census_next;    /* when update points count threads again */
    int outsiders;            /* threads taking no part, as last counted
                                 (-1: they cannot be counted) */
} req;

/* The APPLY being prepared, or posted and awaiting its outcome (owner:
 * whoever runs the channel: the control thread, or in polling mode the
 * program's thread at its update points).  What it allocated is freed by
 * job_release unless the update point made it part of the program. */
static struct job {
    int active;
    long long t0, t_posted, deadline, timeout_ms;
    char *path;      /* as the client named the file, for messages and STATUS */
    char digest[65];
    void *h;
    const struct dsu_patch *p;
    void ***slots;
    struct chunk *defs;
    struct step *steps;
    struct type *newtypes, **newtypes_tail;
    struct applied *rec;
    struct ptable *newpoints;
} job;

/* Polling mode: no control thread; the program's thread serves the
 * channel at its update points (DSU_CONTROL=poll, or no thread could be
 * started).  dsu__pending then stays set so that every DSU_update() calls
 * in.  Set by the constructor, or by it when the thread fails to start. */
static int poll_mode;

/* The listening socket, remembered by identity so that we notice when the
 * program closes it (daemons close every fd) and never touch an fd number
 * the program has reused for something of its own. */
static int lfd = -1; /* owner control; closed by the child after fork */
static dev_t l_dev;
static ino_t l_ino;

static long long ns_of(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static long long mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return ns_of(t);
}

#endif /* DSU_RUNTIME_STATE_H */
