/* Layouts the program observes: offsetof, a field offset taken from a
   null pointer, container_of.  The updateable build keeps these structs
   (and the structs they hold by value) as the ordinary build lays them
   out. */
#include <stdio.h>
#include <stddef.h>

struct P { int a; char b; };
struct O { struct P p; int z; };
struct Inner { long x; };
struct Mid { struct Inner in[2]; char c; };
typedef struct { struct Mid m; union { struct P up; int i; } u; int tail; } Outer;
struct Node { int key; struct Node *next; };
struct List { int v; struct Node link; int after; };
struct Free { struct P p; int w; };          /* not observed: wrapped */

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define field_offset(T, m) ((size_t)&((T *)0)->m)

int main(void)
{
    struct List l = {1, {2, 0}, 3};
    struct List *back = container_of(&l.link, struct List, link);
    struct Free f = {{1, 2}, 3};
    printf("%d %d %d %d\n", (int)offsetof(struct O, z), (int)offsetof(Outer, u),
           (int)offsetof(Outer, tail), (int)offsetof(Outer, m.c));
    printf("%d %d %d %d\n", (int)field_offset(struct O, z), (int)offsetof(struct List, after),
           back->after, f.w);
    printf("%d %d %d\n", (int)sizeof(struct O), (int)sizeof(Outer), (int)sizeof(struct List));
    return 0;
}
