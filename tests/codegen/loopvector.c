/* A loop with an update point is extracted into a function that reaches
   the enclosing function's variables through pointers; a variable whose
   attribute makes it a vector has a type its declarator does not say, so
   such a loop is left in place. */
#include <stdio.h>
#ifdef DSU_UPDATEABLE
#include <dsu.h>
#else
#define DSU_update()
#endif
typedef float v4 __attribute__((vector_size(16)));

int main(void)
{
    float __attribute__((vector_size(16))) acc = {0, 0, 0, 0};
    int i = 0, n = 3;
    while (i < n) {
        DSU_update();
        acc += (v4){1, 2, 3, 4};
        i++;
    }
    printf("%g %g %d\n", acc[0], acc[3], (int)sizeof acc);
    return 0;
}
