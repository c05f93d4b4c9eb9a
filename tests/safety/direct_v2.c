/* direct_v1.c with a field added to struct rec, and its count widened. */
#include <stdio.h>

struct rec { long count; int extra; };
static struct rec recs[2];

void run_work(void);

static void bump(struct rec *r)
{
    r->count++;
    printf("work v2 count=%ld\n", r->count);
}

static void show(const char *cmd, struct rec *r)
{
    printf("%s v2 count=%ld extra=%d\n", cmd, r->count, r->extra);
}

void handle(const char *cmd)
{
    if (cmd[0] == 'w') {
        run_work();
        bump(&recs[0]);
    } else {
        show(cmd, &recs[0]);
    }
}
