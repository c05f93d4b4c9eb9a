#include <stdio.h>
#include <stdlib.h>
/* one anonymous struct, two typedefs in one declaration */
typedef struct { int seen; } counter, *counter_p;
static counter_p total;
void handle(const char *cmd)
{
    if (!total)
        total = calloc(1, sizeof *total);
    total->seen++;
    printf("%s seen=%d v2\n", cmd, total->seen);
}
