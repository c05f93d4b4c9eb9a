/* handle() uses no struct itself, but calls bump() and show(), functions
 * of the same unit that use struct rec.  Those calls do not go through a
 * slot, so while handle() waits for run_work() (another unit, with update
 * points), an update there would leave handle() calling the old bump():
 * a patch that changes struct rec must wait for the loop head. */
#include <stdio.h>

struct rec { int count; };
static struct rec recs[2];

void run_work(void);

static void bump(struct rec *r)
{
    r->count++;
    printf("work v1 count=%d\n", r->count);
}

static void show(const char *cmd, struct rec *r)
{
    printf("%s v1 count=%d\n", cmd, r->count);
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
