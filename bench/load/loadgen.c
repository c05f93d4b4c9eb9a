/* loadgen.c -- closed-loop load for kvd's line protocol.
 *
 *     loadgen PORT [-c CLIENTS] [-d SECONDS] [-w WARMUP] [-k KEYS] [-s SET%]
 *             [-n REQUESTS]
 *
 * First one connection stores KEYS keys (so that every GET finds its key).
 * Then CLIENTS threads, one connection each, send requests in a closed
 * loop: one request, then its reply line, then the next.  A request is a
 * SET (SET% of them) or a GET of a random key.  The first WARMUP seconds
 * are not counted; the next SECONDS are, and every counted request's
 * latency (send to end of reply, CLOCK_MONOTONIC) is kept.  Prints one
 * JSON object: requests, seconds, requests/s, p50/p90/p99/max latency in
 * microseconds, and the number of wrong replies (an ERR, or a GET that
 * did not find its key).
 *
 * With -n, each client sends exactly REQUESTS requests instead, all
 * counted, however long they take: the same requests every time, for
 * counting the server's instructions under a slow tool.
 *
 * Build: gcc -O2 -pthread -o loadgen loadgen.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    char buf[4096];
    size_t len;   /* bytes in buf */
};

struct worker {
    pthread_t thread;
    int id;
    struct conn conn;
    uint64_t *lat;    /* ns, one per counted request */
    size_t nlat, cap;
    unsigned long wrong;
    uint64_t seed;
};

static int port, nclients = 4, nkeys = 200, set_percent = 20;
static long per_client; /* -n: requests per client; 0: run for the time */
static double seconds = 3.0, warmup = 0.5;
static uint64_t t_start, t_counted, t_end; /* ns, CLOCK_MONOTONIC */
static pthread_barrier_t ready;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void conn_open(struct conn *c)
{
    struct sockaddr_in addr;
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        die("loadgen: socket");
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("loadgen: connect");
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->len = 0;
}

static void conn_send(struct conn *c, const char *line, size_t n)
{
    size_t off = 0;

    while (off < n) {
        ssize_t w = send(c->fd, line + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            die("loadgen: send");
        off += (size_t)w;
    }
}

/* The next reply line, without its newline, into OUT (NUL-terminated). */
static void conn_read_line(struct conn *c, char *out, size_t outsz)
{
    char *nl;

    while (!(nl = memchr(c->buf, '\n', c->len))) {
        ssize_t r;
        if (c->len == sizeof c->buf) {
            fprintf(stderr, "loadgen: reply line too long\n");
            exit(1);
        }
        r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            fprintf(stderr, "loadgen: the server closed the connection\n");
            exit(1);
        }
        c->len += (size_t)r;
    }
    size_t n = (size_t)(nl - c->buf);
    size_t k = n < outsz - 1 ? n : outsz - 1;
    memcpy(out, c->buf, k);
    out[k] = '\0';
    memmove(c->buf, nl + 1, c->len - n - 1);
    c->len -= n + 1;
}

static uint64_t next_random(uint64_t *s)
{
    /* xorshift64* */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Every key's value is "v<key>", whoever set it, so any GET can be checked. */
static int request(char *line, size_t sz, int set, int key)
{
    return set ? snprintf(line, sz, "SET k%d v%d\n", key, key)
               : snprintf(line, sz, "GET k%d\n", key);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    char line[128], reply[512], want[64];

    conn_open(&w->conn);
    pthread_barrier_wait(&ready);
    for (long done = 0;; done++) {
        int key = (int)(next_random(&w->seed) % (uint64_t)nkeys);
        int set = (int)(next_random(&w->seed) % 100) < set_percent;
        int n = request(line, sizeof line, set, key);
        uint64_t t0 = now_ns(), t1;

        if (per_client ? done == per_client : t0 >= t_end)
            break;
        conn_send(&w->conn, line, (size_t)n);
        conn_read_line(&w->conn, reply, sizeof reply);
        t1 = now_ns();
        if (set)
            snprintf(want, sizeof want, "OK");
        else
            snprintf(want, sizeof want, "v%d", key);
        if (strcmp(reply, want) != 0)
            w->wrong++;
        if (!per_client && (t0 < t_counted || t1 > t_end))
            continue;
        if (w->nlat == w->cap) {
            w->cap = w->cap ? 2 * w->cap : 65536;
            w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
            if (!w->lat)
                die("loadgen: realloc");
        }
        w->lat[w->nlat++] = t1 - t0;
    }
    close(w->conn.fd);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double percentile_us(const uint64_t *v, size_t n, double p)
{
    size_t i;

    if (!n)
        return 0;
    i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

static void prefill(void)
{
    struct conn c;
    char line[128], reply[512];

    conn_open(&c);
    for (int k = 0; k < nkeys; k++) {
        int n = request(line, sizeof line, 1, k);
        conn_send(&c, line, (size_t)n);
        conn_read_line(&c, reply, sizeof reply);
        if (strcmp(reply, "OK") != 0) {
            fprintf(stderr, "loadgen: SET k%d answered %s\n", k, reply);
            exit(1);
        }
    }
    close(c.fd);
}

static int usage(void)
{
    fprintf(stderr, "usage: loadgen PORT [-c CLIENTS] [-d SECONDS] [-w WARMUP] [-k KEYS] "
                    "[-s SET%%] [-n REQUESTS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct worker *ws;
    uint64_t *all;
    size_t total = 0, at = 0;
    unsigned long wrong = 0;
    int opt;

    while ((opt = getopt(argc, argv, "c:d:w:k:s:n:")) != -1) {
        switch (opt) {
        case 'c': nclients = atoi(optarg); break;
        case 'd': seconds = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'k': nkeys = atoi(optarg); break;
        case 's': set_percent = atoi(optarg); break;
        case 'n': per_client = atol(optarg); break;
        default: return usage();
        }
    }
    if (optind != argc - 1 || nclients < 1 || nkeys < 1 || seconds <= 0 || warmup < 0
        || per_client < 0)
        return usage();
    port = atoi(argv[optind]);

    prefill();
    ws = calloc((size_t)nclients, sizeof *ws);
    if (!ws)
        die("loadgen: calloc");
    pthread_barrier_init(&ready, NULL, (unsigned)nclients + 1);
    for (int i = 0; i < nclients; i++) {
        ws[i].id = i;
        ws[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
    }
    for (int i = 0; i < nclients; i++)
        if (pthread_create(&ws[i].thread, NULL, work, &ws[i]) != 0)
            die("loadgen: pthread_create");
    /* Each worker waits at the barrier once connected; these are written
     * before it opens, and it orders the writes before every read. */
    t_start = now_ns();
    t_counted = t_start + (uint64_t)(warmup * 1e9);
    t_end = t_counted + (uint64_t)(seconds * 1e9);
    pthread_barrier_wait(&ready);
    for (int i = 0; i < nclients; i++) {
        pthread_join(ws[i].thread, NULL);
        total += ws[i].nlat;
        wrong += ws[i].wrong;
    }
    if (per_client)
        seconds = (double)(now_ns() - t_start) / 1e9;
    all = malloc((total ? total : 1) * sizeof *all);
    if (!all)
        die("loadgen: malloc");
    for (int i = 0; i < nclients; i++) {
        memcpy(all + at, ws[i].lat, ws[i].nlat * sizeof *all);
        at += ws[i].nlat;
        free(ws[i].lat);
    }
    qsort(all, total, sizeof *all, cmp_u64);
    printf("{\"clients\": %d, \"seconds\": %.3f, \"keys\": %d, \"set_percent\": %d, "
           "\"requests\": %zu, \"requests_per_s\": %.1f, \"p50_us\": %.1f, "
           "\"p90_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f, \"wrong\": %lu}\n",
           nclients, seconds, nkeys, set_percent, total, (double)total / seconds,
           percentile_us(all, total, 50), percentile_us(all, total, 90),
           percentile_us(all, total, 99), total ? (double)all[total - 1] / 1000.0 : 0.0,
           wrong);
    free(all);
    free(ws);
    return 0;
}
