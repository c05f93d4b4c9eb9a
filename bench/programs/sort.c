/* qsort with a comparator through its stub, plus a recursive function. */
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(void)
{
    static int v[200000];
    unsigned s = 1;
    for (int i = 0; i < 200000; i++) {
        s = s * 1103515245u + 12345u;
        v[i] = (int)(s >> 8);
    }
    qsort(v, 200000, sizeof v[0], cmp);
    printf("%d %ld\n", v[100000], fib(25));
    return 0;
}
