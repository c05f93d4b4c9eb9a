/* qsort with a comparator through its stub, plus a recursive function. */
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(int argc, char **argv)
{
    static int v[200000];
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    unsigned s = 1;
    long f = 0;
    for (int round = 0; round < scale; round++) {
        for (int i = 0; i < 200000; i++) {
            s = s * 1103515245u + 12345u;
            v[i] = (int)(s >> 8);
        }
        qsort(v, 200000, sizeof v[0], cmp);
        f += fib(25);
    }
    printf("%d %ld\n", v[100000], f);
    return 0;
}
