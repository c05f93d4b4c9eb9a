/* Initialisers that leave out braces, of structs the updateable build
   wraps (room and tag after their fields): every form C allows must fill
   the same members as in the ordinary build. */
#include <stdio.h>
#include <string.h>
struct P { int a, b; };
struct O { struct P p; int z; };
struct S { char name[8]; int n; };
union U { int i; char c[4]; };
struct W { struct P ps[2]; union U u; struct { int x, y; }; int last; };
struct Q { struct P p; struct P q; int k; };
struct N { const char *names[2]; struct P p; };
enum { TWO = 2 };
struct P arr[] = {1, 2, 3, 4};
struct O o = {5, 6, 7};
struct S strs[] = {"ab", 1, {"cd", 2}, {"ef"}, 3};
struct W w = {1, 2, 3, 4, 65, 8, 9, 10};
struct W wd = {.ps[1].b = 11, 12, .u = {66}, .y = 13, 14};
struct P grid[2][2] = {1, 2, 3, 4, 5, 6, 7, 8};
struct P byidx[] = {[TWO] = 1, 2, [0].b = 3};
struct O whole;
struct N ns[] = {"x", "y", 1, 2, "z", "w", 3, 4};     /* strings for pointers */
static int three[] = {1, 2, 3};
struct P sized[sizeof three / sizeof three[0]] = {{1, 2}, {3, 4}, {5, 6}};
struct Q qs[] = {{1, 2, 3, 4, 5}, 6, 7, 8, 9, 10};
static struct P fromexpr(void) { struct P p = {41, 42}; return p; }
static void show(const char *what, const void *p, size_t n) {
    const int *v = p; printf("%s:", what);
    for (size_t i = 0; i < n / sizeof(int); i++) printf(" %d", v[i]);
    printf("\n");
}
int main(void) {
    struct P lp = {21, 22};
    struct O lo = {lp, 23};
    struct O lo2 = {31, 32, 33};
    struct P larr[] = {1, 2, 3, 4, 5};
    struct O *cl = &(struct O){51, 52, 53};
    struct O fe = {fromexpr(), 43};
    printf("arr %d: %d %d %d %d\n", (int)(sizeof arr / sizeof arr[0]), arr[0].a, arr[0].b, arr[1].a, arr[1].b);
    printf("o %d %d %d\n", o.p.a, o.p.b, o.z);
    printf("strs %d %s %d %s %d %s %d %d\n", (int)(sizeof strs / sizeof strs[0]), strs[0].name, strs[0].n, strs[1].name, strs[1].n, strs[2].name, strs[2].n, strs[3].name[0]);
    printf("w %d %d %d %d %d %d %d %d\n", w.ps[0].a, w.ps[0].b, w.ps[1].a, w.ps[1].b, w.u.i, w.x, w.y, w.last);
    printf("wd %d %d %d %d %d %d %d %d\n", wd.ps[0].a, wd.ps[0].b, wd.ps[1].a, wd.ps[1].b, wd.u.i, wd.x, wd.y, wd.last);
    printf("grid %d %d %d %d\n", grid[0][0].a, grid[0][1].b, grid[1][0].a, grid[1][1].b);
    printf("byidx %d: %d %d %d %d\n", (int)(sizeof byidx / sizeof byidx[0]), byidx[0].b, byidx[2].a, byidx[2].b, byidx[1].a);
    printf("qs %d: %d %d %d %d %d | %d %d %d %d %d\n", (int)(sizeof qs / sizeof qs[0]), qs[0].p.a, qs[0].p.b, qs[0].q.a, qs[0].q.b, qs[0].k, qs[1].p.a, qs[1].p.b, qs[1].q.a, qs[1].q.b, qs[1].k);
    printf("locals %d %d %d | %d %d %d | %d %d | %d %d %d | %d %d %d\n", lo.p.a, lo.p.b, lo.z, lo2.p.a, lo2.p.b, lo2.z, (int)(sizeof larr / sizeof larr[0]), larr[2].a, cl->p.a, cl->p.b, cl->z, fe.p.a, fe.p.b, fe.z);
    printf("whole %d\n", whole.z);
    printf("sized %d %d\n", (int)(sizeof sized / sizeof sized[0]), sized[2].b);
    printf("ns %s %s %d %s %d\n", ns[0].names[0], ns[0].names[1], ns[0].p.b, ns[1].names[0],
           ns[1].p.b);
    {
        struct L { struct P p; int z; };      /* defined in a function */
        struct L l = {1, 2, 3};
        struct L ls[] = {4, 5, 6, 7, 8, 9};
        printf("local type %d %d %d | %d %d\n", l.p.a, l.p.b, l.z,
               (int)(sizeof ls / sizeof ls[0]), ls[1].z);
    }
    return 0;
}
