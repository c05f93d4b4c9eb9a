#ifndef PARTICLE_H
#define PARTICLE_H

#include "vec.h"

struct particle {
    struct vec pos, vel;
    double mass;
    int hits;
};

#define BOX 64.0

void particles_init(struct particle *ps, int n, unsigned seed);
void particles_step(struct particle *ps, int n, double dt);
double particles_energy(const struct particle *ps, int n);
long particles_hits(const struct particle *ps, int n);

#endif
