/* Compute-bound, many small functions across two call sites: the worst
 * case for calls through slots (no inlining). */
#include <stdio.h>
#include <stdlib.h>

static unsigned mix(unsigned x) { return x * 2654435761u ^ (x >> 13); }
static unsigned step(unsigned x, unsigned i) { return mix(x + i) + (i & 7); }
unsigned fold(unsigned n)
{
    unsigned acc = 1;
    for (unsigned i = 0; i < n; i++)
        acc = step(acc, i);
    return acc;
}

int main(int argc, char **argv)
{
    unsigned scale = argc > 1 ? (unsigned)atoi(argv[1]) : 1;
    printf("%u\n", fold(3000000 * scale));
    return 0;
}
