/* A command that runs for a while and reaches update points inside work(),
 * whose own code reads struct rec after them. */
#include <stdio.h>
#include <unistd.h>
#include <dsu.h>

struct rec { int count; };
static struct rec recs[2];

static void work(void)
{
    struct rec *r = &recs[0];
    for (int i = 0; i < 150; i++) {
        usleep(10000);
        DSU_update();
    }
    r->count++;
    printf("work v1 count=%d\n", r->count);
}

void handle(const char *cmd)
{
    if (cmd[0] == 'w')
        work();
    else
        printf("%s v1 count=%d\n", cmd, recs[0].count);
}
