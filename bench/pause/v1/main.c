/* main.c -- the program of the update-pause benchmark (v1).
 *
 *     pause N
 *
 * Allocates N live `struct item`s, one malloc each, in a linked list, says
 * "ready n=N", then loops: the update point, a few items touched, a 1 ms
 * sleep, so that a requested update is taken within about a millisecond.
 * On SIGUSR1 it walks the whole list once and prints what it found and how
 * long the walk took:
 *
 *     traverse v1 n=N sum_id=S sum_value=V ns=T
 *
 * v2 changes only function bodies (touch, traverse).  v3 adds a field to
 * struct item, in the middle, so every item must be converted before v3
 * code can read it; the sums show whether the conversion kept the data.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <dsu.h>

struct item {
    long id;
    long value;
    unsigned long hits;
    struct item *next;
};

static struct item *head;
static volatile sig_atomic_t traverse_requested;

static void on_signal(int sig)
{
    (void)sig;
    traverse_requested = 1;
}

/* The value stored with item I; the benchmark computes the same sums. */
static long value_of(long i)
{
    return (i * 7919) % 1000003;
}

/* The list in order of id, so that a walk goes through memory in the
 * order it was allocated. */
static void build(long n)
{
    for (long i = n - 1; i >= 0; i--) {
        struct item *it = malloc(sizeof *it);
        if (!it) {
            perror("pause: malloc");
            exit(1);
        }
        it->id = i;
        it->value = value_of(i);
        it->hits = 0;
        it->next = head;
        head = it;
    }
}

/* The work of one iteration: the first few items, every time. */
static void touch(void)
{
    struct item *it = head;

    for (int k = 0; k < 4 && it; k++, it = it->next)
        it->hits++;
}

static long long ns_between(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

static void traverse(void)
{
    struct timespec t0, t1;
    long n = 0, sum_id = 0, sum_value = 0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (struct item *it = head; it; it = it->next) {
        n++;
        sum_id += it->id;
        sum_value += it->value;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("traverse v1 n=%ld sum_id=%ld sum_value=%ld ns=%lld\n", n, sum_id, sum_value,
           ns_between(&t0, &t1));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct timespec nap = { 0, 1000000 };
    struct sigaction sa;
    long n = argc > 1 ? atol(argv[1]) : 1000;

    if (n < 1) {
        fprintf(stderr, "usage: %s N   (N >= 1 items)\n", argv[0]);
        return 2;
    }
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    build(n);
    printf("ready n=%ld\n", n);
    fflush(stdout);
    for (;;) {
        DSU_update();
        if (traverse_requested) {
            traverse_requested = 0;
            traverse();
        }
        touch();
        nanosleep(&nap, NULL);
    }
}
