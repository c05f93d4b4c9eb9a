#include <stdio.h>
#include <stdlib.h>
#include "tally.h"

static struct tally total;

static long mean(void)
{
    return total.count ? total.sum / total.count : 0;
}

void handle(const char *cmd)
{
    int n = atoi(cmd);
    total.count++;
    total.sum += n;
    printf("v2 n=%d root=%d count=%d sum=%ld mean=%ld\n", n, root_of(n), total.count,
           total.sum, mean());
}
