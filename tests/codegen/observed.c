/* Sizes and bytes of structs, used the ways C programs use them: the
 * updateable build must print and write exactly what the ordinary one
 * does.  Structs whose size or bytes show are kept as written; the
 * others are wrapped. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *xmalloc(size_t n) { void *p = malloc(n); if (!p) abort(); return p; }
static void *xcalloc(size_t n, size_t s) { void *p = calloc(n, s); if (!p) abort(); return p; }
static void *xrealloc(void *p, size_t n) { p = realloc(p, n); if (!p) abort(); return p; }

struct Alloc { int a; long b; };
struct Many { int a; };
struct Grown { int a; };
struct Buf { int n; char buf[64]; };
struct Bound { int a; };
struct Flex { int n; char data[]; };
struct Hack { int n; char data[1]; };
struct Printed { int a; };
struct Compared { int a; char c; };
struct Stored { short s; };
struct Written { char text[7]; char nl; };
struct Punned { int a; };
struct Cast { int a; };
struct Varg { int a; };
struct Hashed { int a; char c; };
struct Tail { char a[4], b[4]; };
struct InUnion { int a; };
union Pun { struct InUnion s; unsigned char raw[sizeof(struct InUnion)]; };
struct Inline { int a; };
struct Named { int n; char tag[4]; };

struct Tail tails[] = { { "123", { '5', '6', '7', '8' } }, { "9", "" } };
struct Named named = { 1, "abc" };
volatile int zero;

static unsigned hash(const void *p, size_t n)
{
    const unsigned char *b = p;
    unsigned h = 5381;
    while (n--)
        h = h * 33 + *b++;
    return h;
}

static int sum(int n, ...)
{
    va_list ap;
    int s = 0;
    va_start(ap, n);
    while (n--) {
        struct Varg v = va_arg(ap, struct Varg);
        s += v.a;
    }
    va_end(ap);
    return s;
}

int main(void)
{
    struct Alloc *p = xmalloc(sizeof *p);
    struct Many *m = xcalloc(3, sizeof(struct Many));
    struct Grown *g = xrealloc(NULL, 2 * sizeof *g);
    struct Buf *b = xcalloc(1, sizeof(struct Buf));
    char room[sizeof(struct Bound) * 2];
    struct Flex *f = malloc(sizeof *f + 4);
    struct Printed pr = { 1 };
    struct Compared c = { 2, 'c' };
    size_t stored = sizeof(struct Stored);
    struct Written w = { { 'w', 'r', 'i', 't', 't', 'e', 'n' }, '\n' };
    struct Punned pu = { 5 };
    char bytes[64];
    int words[4] = { 6, 0, 0, 0 };
    struct Cast *cast = (struct Cast *)words;
    struct Varg v1 = { 7 }, v2 = { 8 };
    struct Hashed h;
    struct Hack hack = { 9, { 'h' } };

    p->a = 1; p->b = 2;
    m[2].a = 3;
    g[1].a = 4;
    strcpy(b->buf, "buffer");
    memset(f, 0, sizeof *f + 4);
    memset(&h, 0, sizeof h);
    h.a = 10; h.c = 'x';
    printf("%d %ld %d %d %s %d %zu\n", p->a, p->b, m[2].a, g[1].a, b->buf,
           (int)sizeof room >= 8, sizeof f->data[0]);
    printf("printed %zu %d\n", sizeof(struct Printed), pr.a);
    if (sizeof c == 8)
        printf("compared %d\n", c.a);
    printf("stored %zu\n", stored);
    fflush(stdout);
    write(1, &w, sizeof w);
    memcpy(bytes, &pu, sizeof pu);
    printf("punned %d\n", bytes[0]);
    printf("cast %d\n", cast->a);
    printf("varg %d\n", sum(2, v1, v2));
    printf("hashed %u\n", hash(&h, sizeof h));
    printf("hack %d %c\n", hack.n, hack.data[0]);
    printf("tail %zu %s\n", strlen(tails[zero].b), named.tag);
    {
        union Pun pun;
        memset(&pun, 0, sizeof pun);
        pun.s.a = 3;
        printf("pun %zu %d\n", sizeof pun.raw, pun.raw[0]);
        printf("inline %d\n", ((struct Inline *)words)->a);
    }
    return 0;
}
