/* pool: a TCP server on 127.0.0.1 with a pool of worker threads.
 *
 *   pool PORT [WORKERS]     (PORT 0: any free port; 4 workers by default)
 *
 * The main thread accepts connections and queues them; each worker takes
 * one connection at a time and answers its request lines, one reply line
 * each (see bank.c), until the client closes it.  Every thread comes to
 * its own DSU_update() at least every 100 ms and blocks only in quiescent
 * regions (poll, pthread_cond_timedwait), so a patch is installed while
 * all of them wait in one of those two places. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <dsu.h>

#include "bank.h"

#define QUEUE 64

static int queue[QUEUE];
static int queued, head;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;

static void push_connection(int fd)
{
    pthread_mutex_lock(&qlock);
    if (queued == QUEUE) {
        close(fd);
    } else {
        queue[(head + queued++) % QUEUE] = fd;
        pthread_cond_signal(&qcond);
    }
    pthread_mutex_unlock(&qlock);
}

/* A queued connection, or -1 after 100 ms without one. */
static int take_connection(void)
{
    struct timespec until;
    int fd = -1;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&qlock);
    while (queued == 0) {
        DSU_quiescent_begin();
        int r = pthread_cond_timedwait(&qcond, &qlock, &until);
        DSU_quiescent_end();
        if (r == ETIMEDOUT)
            break;
    }
    if (queued > 0) {
        fd = queue[head];
        head = (head + 1) % QUEUE;
        queued--;
    }
    pthread_mutex_unlock(&qlock);
    return fd;
}

/* Waits up to 100 ms for FD's next bytes and answers every complete
 * line; returns -1 once the client is gone (FD closed). */
static int serve(int fd, char *buf, size_t *len, size_t cap)
{
    struct pollfd p = {fd, POLLIN, 0};
    DSU_quiescent_begin();
    int r = poll(&p, 1, 100);
    DSU_quiescent_end();
    if (r <= 0)
        return 0;
    ssize_t got = read(fd, buf + *len, cap - *len);
    if (got <= 0) {
        close(fd);
        return -1;
    }
    *len += (size_t)got;
    char *nl;
    while ((nl = memchr(buf, '\n', *len))) {
        char reply[256];
        *nl = '\0';
        bank_request(buf, reply, sizeof reply - 1);
        size_t rn = strlen(reply);
        reply[rn++] = '\n';
        if (write(fd, reply, rn) != (ssize_t)rn) {
            close(fd);
            return -1;
        }
        *len -= (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, *len);
    }
    if (*len == cap) { /* a line too long: not a client of ours */
        close(fd);
        return -1;
    }
    return 0;
}

static void *worker(void *arg)
{
    char buf[1024];
    size_t len = 0;
    int fd = -1;
    (void)arg;
    for (;;) {
        DSU_update();
        if (fd < 0) {
            fd = take_connection();
            len = 0;
        } else if (serve(fd, buf, &len, sizeof buf) < 0) {
            fd = -1;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0;
    int workers = argc > 2 ? atoi(argv[2]) : 4;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    socklen_t alen = sizeof a;
    int one = 1;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 64) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
        perror("pool");
        return 1;
    }
    for (int i = 0; i < workers; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, NULL) != 0) {
            perror("pool: pthread_create");
            return 1;
        }
    }
    printf("pool listening on %d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        struct pollfd p = {lfd, POLLIN, 0};
        DSU_update();
        DSU_quiescent_begin();
        int r = poll(&p, 1, 100);
        DSU_quiescent_end();
        if (r > 0) {
            int fd = accept(lfd, NULL, NULL);
            if (fd >= 0)
                push_connection(fd);
        }
    }
}
