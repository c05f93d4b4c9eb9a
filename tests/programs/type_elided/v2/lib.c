#include <stdio.h>
struct pair { int a, b, c; };
static struct pair table[] = { 1, 2, 0, 3, 4, 0 };
static struct pair extra[] = { 5, 6, 7, 8, 9, 10 };   /* new in the patch */
static int calls;
void handle(const char *cmd)
{
    struct pair local[] = { 11, 12, 13, 14, 15, 16 };
    calls++;
    table[0].a += 10;
    table[1].c = extra[1].c + local[1].a;
    printf("%s a=%d b=%d a=%d b=%d c=%d extra=%d/%d local=%d/%d calls=%d\n", cmd, table[0].a, table[0].b, table[1].a,
           table[1].b, table[1].c, (int)(sizeof extra / sizeof extra[0]), extra[1].a,
           (int)(sizeof local / sizeof local[0]), local[1].c, calls);
}
