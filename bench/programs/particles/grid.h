/* Particles counted by cell in a chained hash table. */
#ifndef GRID_H
#define GRID_H

#include "particle.h"

struct cell {
    long key;
    struct vec momentum;
    int count;
    struct cell *next;
};

void grid_clear(void);
void grid_add(const struct particle *p);
double grid_summary(long *cells, int *densest);

#endif
