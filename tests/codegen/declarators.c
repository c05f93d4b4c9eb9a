/* Declarations with several declarators, in every position, with and
   without attributes: the updateable build must keep each declarator's
   type and attributes, and give the declarators one type where the
   program gives them one. */
#include <stdio.h>
#include <stddef.h>

struct entry { int k; struct entry *next; };
struct table { struct entry *slots[4]; };
static struct entry *pa, sb;                           /* file scope, mixed */
static __attribute__((aligned(32))) char g1, g2;       /* shared by both */
static char h1 __attribute__((aligned(64))), h2;       /* the first only */
static struct { int a; } x = {1}, y;                   /* one unnamed type */
typedef int I1, *IP __attribute__((unused)), IA[3];
typedef __attribute__((aligned(16))) int AI1, AI2;
typedef struct { int b; } A, *PA;
struct m { int *p, q; char c1, c2 __attribute__((aligned(8))); struct { int u; } s1, s2; };
struct n { __attribute__((aligned(16))) char a, b; };
static int cleaned;
static void bump(int *p) { cleaned += *p; }
static int add(int a __attribute__((unused)), int *b, int c) { return *b + c; }

static int walk(struct table t)
{
    int sum = 0;
    for (int i = 0; i < 4; i++)
        for (struct entry *e = t.slots[i], *n; e; e = n) {
            n = e->next;
            sum += e->k;
        }
    return sum;
}

int main(void)
{
    static __attribute__((aligned(128))) char ls1, ls2;
    static struct { int a; } st1 = {4}, st2;
    struct { int c; } l1 = {5}, l2;
    struct table t = {{0}};
    struct entry e1 = {1, 0}, e2 = {2, &e1};
    int z = 2;
    {
        __attribute__((cleanup(bump))) int v = 10, w = 20;
        int k __attribute__((cleanup(bump))) = 100, u = 1000;
        (void)u;
    }
    I1 i1 = 1; IP ip = &i1; IA ia = {1, 2, 3};
    AI1 ai = 0;
    A a = {3}; PA pb = &a;
    struct m mm = {&z, 3, 'a', 'b', {6}, {7}};
    t.slots[1] = &e2;
    sb.k = 5; pa = &sb;
    st2 = st1; y = x; l2 = l1; mm.s2 = mm.s1;
    for (int i = 0, *q = &i, arr[2] = {7, 8}; i < 1; i++)
        printf("for %d %d\n", *q, arr[1]);
    printf("walk %d\n", walk(t));
    printf("values %d %d %d %d %d %d %d %d %d\n", pa->k, *ip + ia[2], *mm.p + mm.q,
           add(1, &z, 3), st2.a, y.a, l2.c, pb->b, mm.s2.u);
    printf("cleanup %d\n", cleaned);
    printf("aligned %d %d %d %d %d %d %d\n", (int)((size_t)&g1 % 32), (int)((size_t)&g2 % 32),
           (int)((size_t)&h1 % 64), (int)_Alignof(AI2), (int)offsetof(struct m, c2),
           (int)offsetof(struct n, b), (int)(((size_t)&ls1 | (size_t)&ls2) % 128));
    return ai;
}
