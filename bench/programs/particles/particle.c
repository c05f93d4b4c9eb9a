#include "particle.h"

/* A field of forces over the box, 16 x 16 cells of 4 x 4. */
static struct vec field[16][16];
static unsigned rng;

static double uniform(void)
{
    rng = rng * 1103515245u + 12345u;
    return (double)((rng >> 8) & 0xffff) / 65536.0;
}

void particles_init(struct particle *ps, int n, unsigned seed)
{
    rng = seed;
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            struct vec f = { uniform() - 0.5, uniform() - 0.5, -0.1 * uniform() };
            field[i][j] = f;
        }
    for (int i = 0; i < n; i++) {
        struct vec pos = { uniform() * BOX, uniform() * BOX, uniform() * BOX };
        struct vec vel = { uniform() - 0.5, uniform() - 0.5, uniform() - 0.5 };
        ps[i].pos = pos;
        ps[i].vel = vscale(vel, 4.0);
        ps[i].mass = 1.0 + uniform();
        ps[i].hits = 0;
    }
}

/* Keeps one coordinate inside the box, reflecting the velocity. */
static int bounce(double *x, double *v)
{
    if (*x < 0) {
        *x = -*x;
        *v = -*v;
        return 1;
    }
    if (*x > BOX) {
        *x = 2 * BOX - *x;
        *v = -*v;
        return 1;
    }
    return 0;
}

void particles_step(struct particle *ps, int n, double dt)
{
    for (int i = 0; i < n; i++) {
        struct particle *p = &ps[i];
        int cx = (int)(p->pos.x / 4.0) & 15, cy = (int)(p->pos.y / 4.0) & 15;
        struct vec acc = vscale(field[cx][cy], 1.0 / p->mass);
        struct vec drag = vscale(p->vel, -0.01 * vdot(p->vel, p->vel) / p->mass);
        p->vel = vadd(p->vel, vscale(vadd(acc, drag), dt));
        p->pos = vadd(p->pos, vscale(p->vel, dt));
        p->hits += bounce(&p->pos.x, &p->vel.x) + bounce(&p->pos.y, &p->vel.y) +
                   bounce(&p->pos.z, &p->vel.z);
    }
}

double particles_energy(const struct particle *ps, int n)
{
    double e = 0;
    for (int i = 0; i < n; i++)
        e += 0.5 * ps[i].mass * vdot(ps[i].vel, ps[i].vel);
    return e;
}

long particles_hits(const struct particle *ps, int n)
{
    long h = 0;
    for (int i = 0; i < n; i++)
        h += ps[i].hits;
    return h;
}
