#include <stdio.h>
#include <stdlib.h>
static int count;
static int cmp(const void *a, const void *b) { return *(const int *)b - *(const int *)a; }
static int inc(int x) { return x + 100; }
static int dec(int x) { return x - 1; }
static int (*ops[2])(int) = { inc, dec };
static int (*order)(const void *, const void *) = cmp;
void handle(const char *cmd)
{
    int v[3] = { 2, 3, 1 };
    count++;
    qsort(v, 3, sizeof v[0], order);
    printf("%s sorted=%d%d%d inc=%d dec=%d\n", cmd, v[0], v[1], v[2], ops[0](count), ops[1](count));
}
