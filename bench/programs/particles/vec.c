#include "vec.h"

struct vec vadd(struct vec a, struct vec b)
{
    struct vec r = { a.x + b.x, a.y + b.y, a.z + b.z };
    return r;
}

struct vec vsub(struct vec a, struct vec b)
{
    struct vec r = { a.x - b.x, a.y - b.y, a.z - b.z };
    return r;
}

struct vec vscale(struct vec a, double k)
{
    struct vec r = { a.x * k, a.y * k, a.z * k };
    return r;
}

double vdot(struct vec a, struct vec b)
{
    return a.x * b.x + a.y * b.y + a.z * b.z;
}
