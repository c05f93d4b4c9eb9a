/* A command that runs for a while, reaching update points; it lives in a
 * unit of its own, so its caller does not know it holds any. */
#include <unistd.h>
#include <dsu.h>

void run_work(void)
{
    for (int i = 0; i < 150; i++) {
        usleep(10000);
        DSU_update();
    }
}
