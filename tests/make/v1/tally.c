#include <stdio.h>
#include <stdlib.h>
#include "tally.h"

static struct tally total;

void handle(const char *cmd)
{
    int n = atoi(cmd);
    total.count++;
    total.sum += n;
    printf("n=%d root=%d count=%d sum=%ld\n", n, root_of(n), total.count, total.sum);
}
