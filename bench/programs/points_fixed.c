/* points.c with struct point marked DSU_FIXED: the developer's explicit
 * choice for a small struct in a hot array.  It is not wrapped (no room,
 * no tag), and a patch that changes its layout is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <dsu.h>

struct point { float x, y; } DSU_FIXED;

static float cross(const struct point *a, const struct point *b)
{
    return a->x * b->y - a->y * b->x;
}

static void nudge(struct point *p, float dx, float dy)
{
    p->x += dx;
    p->y += dy;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    int n = 1 << 20;
    struct point *ps = malloc(n * sizeof *ps);
    double area = 0;
    if (!ps)
        return 1;
    for (int i = 0; i < n; i++) {
        ps[i].x = (float)(i % 1000) / 1000.0f;
        ps[i].y = (float)(i % 777) / 777.0f;
    }
    for (int round = 0; round < 2 * scale; round++) {
        for (int i = 0; i + 1 < n; i++)
            area += cross(&ps[i], &ps[i + 1]);
        for (int i = 0; i < n; i++)
            nudge(&ps[i], 0.001f, -0.001f);
    }
    printf("%.3f\n", area);
    free(ps);
    return 0;
}
