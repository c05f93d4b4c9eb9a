/* dsu__convert against hand-built chains, which no real sequence of
 * patches reaches easily (layout cycles, tags that are known but lead
 * nowhere, failing transformers).  Includes the runtime itself to get at
 * its type states.  argv[1] names the case; "paths" prints one line per
 * conversion, the others must abort with a message. */
#include "dsu_runtime.c"

const char dsu__program_name[] = "convert_unit";
const char dsu__program_version[] = "v1";
const char dsu__program_version_id[] = "id-unit";

#define A 0xaaaaaaaau
#define B 0xbbbbbbbbu
#define C 0xccccccccu

struct obj {
    char log[16]; /* which transformers ran, in order */
    unsigned tag;
};

static int log_step(void *o, char c)
{
    struct obj *ob = o;
    size_t n = strlen(ob->log);
    ob->log[n] = c;
    ob->log[n + 1] = '\0';
    return 0;
}
static int x1(void *o) { return log_step(o, '1'); }
static int x2(void *o) { return log_step(o, '2'); }
static int x3(void *o) { return log_step(o, '3'); }
static int xfail(void *o) { return log_step(o, '!'), 9; }

static const struct dsu_patch patch = {.from_version = "vA", .to_version = "vB"};
static const struct dsu_xform xf[] = {
    {"struct obj@unit", "L-A", "L-B", A, B, sizeof(struct obj), offsetof(struct obj, tag), x1},
    {"struct obj@unit", "L-B", "L-A", B, A, sizeof(struct obj), offsetof(struct obj, tag), x2},
    {"struct obj@unit", "L-A", "L-C", A, C, sizeof(struct obj), offsetof(struct obj, tag), x3},
};
static const struct dsu_type entry = {"struct obj@unit", "L-A", A, sizeof(struct obj),
                                      offsetof(struct obj, tag), 0};

/* The chain A->B, B->A, A->C (a layout given up and taken again), or the
 * empty chain. */
static struct type *make_type(int nsteps, int (*last)(void *))
{
    static struct type t;
    static struct step s[3];
    t.prog = &entry;
    t.tail = &t.steps;
    for (int i = 0; i < nsteps; i++) {
        s[i] = (struct step){NULL, xf[i].from_tag, xf[i].to_tag, xf[i].convert, &t, &xf[i],
                             &patch};
        if (i == nsteps - 1 && last)
            s[i].convert = last;
        *t.tail = &s[i];
        t.tail = &s[i].next;
        t.nsteps++;
    }
    t.pub.changed = nsteps > 0;
    return &t;
}

static void conv(struct type *t, unsigned tag, unsigned target)
{
    struct obj o = {"", tag};
    dsu__convert(&t->pub, &o, target);
    printf("%08x->%08x: %s %08x\n", tag, target, o.log[0] ? o.log : "-", o.tag);
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(c, "paths") == 0) {
        struct type *t = make_type(3, NULL);
        conv(t, 0, B);          /* untagged: the base layout A */
        conv(t, 0, C);          /* from the first transformer on */
        conv(t, A, C);
        conv(t, B, C);
        conv(t, C, C);          /* already there: nothing runs */
        conv(t, 0xdeadbeef, A); /* garbage: A, round the cycle */
        conv(t, B, A);
    } else if (strcmp(c, "empty") == 0) {
        conv(make_type(0, NULL), 0, B);
    } else if (strcmp(c, "known-unreachable") == 0) {
        conv(make_type(3, NULL), C, B); /* C is known: not from the base */
    } else if (strcmp(c, "fail") == 0) {
        conv(make_type(3, xfail), B, C);
    }
    return 0;
}
