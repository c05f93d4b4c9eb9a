/* Parameters whose attributes make them vectors: the declarations the
   pass writes for a function (its stub, its slot, its body) must say
   the same types as its definition. */
#include <stdio.h>
typedef float v4 __attribute__((vector_size(16)));

float ends(float v __attribute__((vector_size(16))), int k __attribute__((unused)))
{
    return v[0] + v[3];
}

int main(void)
{
    v4 x = {1, 2, 3, 4};
    float (*through)(v4, int) = ends;
    printf("%g %g\n", ends(x, 0), through(x, 0));
    return 0;
}
