#include <stdio.h>
struct pair { int a, b; };
static struct pair table[] = { 1, 2, 3, 4 };     /* braces left out: two pairs */
static int calls;
void handle(const char *cmd)
{
    calls++;
    table[0].a += 10;
    printf("%s n=%d a=%d b=%d a=%d b=%d calls=%d\n", cmd, (int)(sizeof table / sizeof table[0]),
           table[0].a, table[0].b, table[1].a, table[1].b, calls);
}
