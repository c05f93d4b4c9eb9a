/* Accounts moved between by worker threads under a mutex, while the main
 * thread answers commands on stdin and reaches its update point every
 * 10 ms.  Every transfer keeps the sum of the balances at 0, so a total
 * other than 0 means an object was corrupted.
 *
 *   prog [N [MODE]]   N worker threads (default 2), which
 *     free   never come to an update point (the default);
 *     join   come to their own DSU_update() between two transfers;
 *     idle   come to it between jobs, and wait for a job (the "job"
 *            command) in a quiescent region;
 *     tls    as join, and keep a count of their own transfers in a
 *            __thread variable, checked against a count kept in
 *            program data (the "tls" command).
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dsu.h>

#include "bank.h"

static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static int jobs;
static const char *mode = "free";
#define NWORKER 16
static __thread long mine;
static long done[NWORKER]; /* under mu */
static int tls_lost;

static unsigned next_seed(unsigned seed) { return seed * 1103515245u + 12345u; }

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(long)arg;
    for (;;) {
        seed = next_seed(seed);
        transfer(seed >> 8, seed >> 16);
    }
    return NULL;
}

static void *worker_joined(void *arg)
{
    unsigned seed = (unsigned)(long)arg;
    for (;;) {
        DSU_update();
        seed = next_seed(seed);
        transfer(seed >> 8, seed >> 16);
    }
    return NULL;
}

static void *worker_tls(void *arg)
{
    unsigned seed = (unsigned)(long)arg;
    long k = (long)arg % NWORKER;
    for (;;) {
        DSU_update();
        seed = next_seed(seed);
        transfer(seed >> 8, seed >> 16);
        pthread_mutex_lock(&mu);
        mine++; /* its own count, and the same kept by the program */
        done[k]++;
        if (mine != done[k])
            tls_lost = 1;
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

static void take_job(void)
{
    pthread_mutex_lock(&mu);
    while (jobs == 0) {
        DSU_quiescent_begin();
        pthread_cond_wait(&work, &mu);
        DSU_quiescent_end();
    }
    jobs--;
    pthread_mutex_unlock(&mu);
}

static void *worker_idle(void *arg)
{
    unsigned seed = (unsigned)(long)arg;
    for (;;) {
        DSU_update();
        take_job();
        seed = next_seed(seed);
        transfer(seed >> 8, seed >> 16);
    }
    return NULL;
}

static void start_worker(long k)
{
    pthread_t t;
    void *(*run)(void *) = strcmp(mode, "join") == 0 ? worker_joined
                         : strcmp(mode, "idle") == 0 ? worker_idle
                         : strcmp(mode, "tls") == 0 ? worker_tls : worker;
    if (pthread_create(&t, NULL, run, (void *)k) != 0) {
        printf("cannot start a worker\n");
        exit(1);
    }
}

static void handle(const char *cmd)
{
    if (strcmp(cmd, "total") == 0) {
        long total, ops;
        audit(&total, &ops);
        printf("total %ld ops %ld\n", total, ops);
    } else if (strcmp(cmd, "transfer") == 0) {
        transfer(1, 2);
        printf("ok\n");
    } else if (strcmp(cmd, "version") == 0) {
        printf("v2\n");
    } else if (strcmp(cmd, "job") == 0) {
        pthread_mutex_lock(&mu);
        jobs++;
        pthread_cond_signal(&work);
        pthread_mutex_unlock(&mu);
        printf("ok\n");
    } else if (strcmp(cmd, "jobs") == 0) {
        pthread_mutex_lock(&mu);
        printf("jobs %d\n", jobs);
        pthread_mutex_unlock(&mu);
    } else if (strcmp(cmd, "tls") == 0) {
        long sum = 0;
        pthread_mutex_lock(&mu);
        for (int i = 0; i < NWORKER; i++)
            sum += done[i];
        printf("tls %s %ld\n", tls_lost ? "lost" : "kept", sum);
        pthread_mutex_unlock(&mu);
    } else if (strcmp(cmd, "spawn") == 0) {
        start_worker(77);
        printf("ok\n");
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
    if (argc > 2)
        mode = argv[2];
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
