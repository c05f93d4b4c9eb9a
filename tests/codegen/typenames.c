/* Attributes in type names: casts, compound literals, sizeof, abstract
   parameters.  vector_size changes the type, so losing it changes what
   the program computes. */
#include <stdio.h>
#define vector(n, t) __attribute__((vector_size((n) * sizeof(t)))) t
static int pick(int __attribute__((unused)), int b) { return b; }
int main(void) {
    vector(4, float) f0 = {1., 2., 3., 4.};
    vector(4, float) f1 = (vector(4, float)){2., 2., 2., 2.} + f0;
    vector(4, int) i1 = (vector(4, int))f1;
    printf("%g %g %d %d %d\n", f1[0], f1[3], (int)sizeof(vector(8, short)), i1[1], pick(0, 7));
    return 0;
}
