/* A compute-bound program written the common way: small vector helpers
 * in their own unit taking and returning structs by value, nested
 * structs in a heap array, a chained hash table.  The argument is the
 * number of units of work (default 1). */
#include <stdio.h>
#include <stdlib.h>

#include "grid.h"

#define PARTICLES 4096
#define STEPS 40

int main(int argc, char **argv)
{
    int units = argc > 1 ? atoi(argv[1]) : 1;
    struct particle *ps = malloc(PARTICLES * sizeof *ps);
    double best = 0;
    long cells = 0;
    int densest = 0;

    if (!ps)
        return 1;
    particles_init(ps, PARTICLES, 12345u);
    for (int s = 0; s < STEPS * units; s++) {
        particles_step(ps, PARTICLES, 0.05);
        if (s % 4 == 0) {
            grid_clear();
            for (int i = 0; i < PARTICLES; i++)
                grid_add(&ps[i]);
            best = grid_summary(&cells, &densest);
        }
    }
    printf("energy %.6f hits %ld cells %ld densest %d momentum %.6f\n",
           particles_energy(ps, PARTICLES), particles_hits(ps, PARTICLES), cells,
           densest, best);
    free(ps);
    return 0;
}
