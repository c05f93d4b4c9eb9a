/* Struct-heavy inner loop: fields of a struct array read and written. */
#include <stdio.h>
#include <stdlib.h>

struct particle { double x, y, vx, vy; int hits; };
static struct particle ps[1024];

static void move(struct particle *p)
{
    p->x += p->vx;
    p->y += p->vy;
    if (p->x < 0 || p->x > 100) { p->vx = -p->vx; p->hits++; }
    if (p->y < 0 || p->y > 100) { p->vy = -p->vy; p->hits++; }
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    long hits = 0;
    for (int i = 0; i < 1024; i++) {
        ps[i].x = i % 100; ps[i].y = (i * 7) % 100;
        ps[i].vx = 0.5 + (i % 3); ps[i].vy = 1.5 - (i % 4);
    }
    for (int t = 0; t < 400 * scale; t++)
        for (int i = 0; i < 1024; i++)
            move(&ps[i]);
    for (int i = 0; i < 1024; i++)
        hits += ps[i].hits;
    printf("%ld\n", hits);
    return 0;
}
