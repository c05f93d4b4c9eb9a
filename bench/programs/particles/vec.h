/* Small vectors passed and returned by value, as numeric C code often
 * writes them: the helpers live in their own unit. */
#ifndef VEC_H
#define VEC_H

struct vec {
    double x, y, z;
};

struct vec vadd(struct vec a, struct vec b);
struct vec vsub(struct vec a, struct vec b);
struct vec vscale(struct vec a, double k);
double vdot(struct vec a, struct vec b);

#endif
