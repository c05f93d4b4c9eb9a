/* A command that runs for a while and reaches update points inside work(),
 * whose own code reads struct rec after them. */
#include <stdio.h>
#include <unistd.h>
#include <dsu.h>

struct rec { long count; int extra; };
static struct rec recs[2];

static void work(void)
{
    struct rec *r = &recs[0];
    for (int i = 0; i < 150; i++) {
        usleep(10000);
        DSU_update();
    }
    r->count++;
    printf("work v2 count=%ld\n", r->count);
}

void handle(const char *cmd)
{
    if (cmd[0] == 'w')
        work();
    else
        printf("%s v2 count=%ld extra=%d\n", cmd, recs[0].count, recs[0].extra);
}
