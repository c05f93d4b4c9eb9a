#include <stddef.h>

#include "grid.h"

#define BUCKETS 1024
#define CELLS 8192

static struct cell *buckets[BUCKETS];
static struct cell pool[CELLS];
static int used;

void grid_clear(void)
{
    for (int i = 0; i < BUCKETS; i++)
        buckets[i] = NULL;
    used = 0;
}

static long cell_key(struct vec pos)
{
    long x = (long)(pos.x / 2.0), y = (long)(pos.y / 2.0), z = (long)(pos.z / 2.0);
    return (x * 64 + y) * 64 + z;
}

void grid_add(const struct particle *p)
{
    long key = cell_key(p->pos);
    unsigned h = (unsigned)(key * 2654435761u) % BUCKETS;
    struct cell *c;

    for (c = buckets[h]; c; c = c->next)
        if (c->key == key)
            break;
    if (!c) {
        if (used == CELLS)
            return;
        c = &pool[used++];
        c->key = key;
        c->momentum = vscale(p->vel, 0.0);
        c->count = 0;
        c->next = buckets[h];
        buckets[h] = c;
    }
    c->momentum = vadd(c->momentum, vscale(p->vel, p->mass));
    c->count++;
}

/* The largest momentum in a cell; the number of cells and the most
 * particles in one. */
double grid_summary(long *cells, int *densest)
{
    double best = 0;
    *cells = 0;
    *densest = 0;
    for (int i = 0; i < BUCKETS; i++)
        for (struct cell *c = buckets[i]; c; c = c->next) {
            double m = vdot(c->momentum, c->momentum);
            if (m > best)
                best = m;
            if (c->count > *densest)
                *densest = c->count;
            ++*cells;
        }
    return best;
}
