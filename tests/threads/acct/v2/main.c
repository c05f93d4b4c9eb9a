/* Accounts moved between by worker threads under a mutex, while the main
 * thread answers commands on stdin and reaches its update point every
 * 10 ms.  Every transfer keeps the sum of the balances at 0, so a total
 * other than 0 means an object was corrupted.
 *
 *   prog [N]   N worker threads (default 2)
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dsu.h>

#define NACCT 8

struct acct {
    int flags;
    long balance;
    long ops;
};

static struct acct accts[NACCT];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void transfer(unsigned from, unsigned to)
{
    pthread_mutex_lock(&mu);
    accts[from % NACCT].balance -= 3;
    accts[to % NACCT].balance += 3;
    accts[from % NACCT].ops++;
    accts[to % NACCT].ops++;
    pthread_mutex_unlock(&mu);
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(long)arg;
    for (;;) {
        seed = seed * 1103515245u + 12345u;
        transfer(seed >> 8, seed >> 16);
    }
    return NULL;
}

static void start_worker(long k)
{
    pthread_t t;
    if (pthread_create(&t, NULL, worker, (void *)k) != 0) {
        printf("cannot start a worker\n");
        exit(1);
    }
}

static void handle(const char *cmd)
{
    if (strcmp(cmd, "total") == 0) {
        long total = 0, ops = 0;
        pthread_mutex_lock(&mu);
        for (int i = 0; i < NACCT; i++) {
            total += accts[i].balance;
            ops += accts[i].ops;
        }
        pthread_mutex_unlock(&mu);
        printf("total %ld ops %ld\n", total, ops);
    } else if (strcmp(cmd, "transfer") == 0) {
        transfer(1, 2);
        printf("ok\n");
    } else if (strcmp(cmd, "version") == 0) {
        printf("v2\n");
    } else if (strcmp(cmd, "spawn-later") == 0) {
        /* answers first, then keeps away from its update point while a
         * request arrives, and starts a thread before reaching it */
        printf("ok\n");
        sleep(2);
        start_worker(99);
    } else {
        printf("unknown %s\n", cmd);
    }
}

int main(int argc, char **argv)
{
    char line[256];
    int n = argc > 1 ? atoi(argv[1]) : 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (long k = 0; k < n; k++)
        start_worker(k + 1);
    printf("ready\n");
    for (;;) {
        struct pollfd in = {0, POLLIN, 0};
        DSU_update();
        if (poll(&in, 1, 10) <= 0)
            continue;
        if (!fgets(line, sizeof line, stdin))
            break;
        line[strcspn(line, "\n")] = '\0';
        handle(line);
    }
    return 0;
}
