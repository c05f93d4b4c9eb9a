/* net.c -- sockets and per-client line buffering (kvd v2). */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "net.h"

struct client clients[MAX_CLIENTS];

/* A request line is printable ASCII: control characters (a stray CR from
 * telnet, a NUL, an escape sequence) are refused before they reach a
 * command.  store.c has a static valid() too, with a different rule for
 * keys; each file calls its own. */
static int valid(const char *line)
{
    for (; *line; line++)
        if ((unsigned char)*line < ' ' || (unsigned char)*line > '~')
            return 0;
    return 1;
}

int net_listen(int port, int *bound)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int one = 1;
    int fd;

    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = -1;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    /* Restarting on the same port must not wait for TIME_WAIT to end. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Non-blocking, so that accept() cannot hang the loop when a client
     * gives up between poll() and accept(). */
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0
        || listen(fd, 16) < 0
        || fcntl(fd, F_SETFL, O_NONBLOCK) < 0
        || getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    *bound = ntohs(addr.sin_port);
    return fd;
}

/* Accepts one pending connection; returns 0 when none was pending. */
static int accept_client(int listen_fd)
{
    /* A blocked reply must not stall every other client (and every update)
     * for long: a client that stops reading is dropped after a second. */
    struct timeval send_timeout = { 1, 0 };
    struct client *c = NULL;
    int fd = accept(listen_fd, NULL, NULL);

    if (fd < 0)
        return 0; /* EAGAIN, ECONNABORTED, EINTR...: try again next round */
    for (int i = 0; i < MAX_CLIENTS && !c; i++)
        if (clients[i].fd < 0)
            c = &clients[i];
    if (!c) {
        static const char full[] = "ERR server full\n";
        send(fd, full, sizeof full - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        close(fd);
        return 1;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    memset(c, 0, sizeof *c);
    c->fd = fd;
    return 1;
}

void net_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

void net_reply(struct client *c, const char *fmt, ...)
{
    char buf[INBUF_LEN];
    size_t len, off = 0;
    va_list ap;
    int n;

    if (c->fd < 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    len = (size_t)n < sizeof buf - 2 ? (size_t)n : sizeof buf - 2;
    buf[len++] = '\n';
    while (off < len) {
        ssize_t w = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) { /* gone, or not reading for a second: drop it */
            net_close(c);
            return;
        }
        off += (size_t)w;
    }
}

/* Reads what C sent and handles every complete line in it; an unfinished
 * line stays in c->in until the rest arrives. */
static void client_input(struct client *c)
{
    ssize_t got = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, 0);
    char *start = c->in, *end, *nl;
    size_t rest;

    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (got <= 0) { /* orderly close or error */
        net_close(c);
        return;
    }
    c->inlen += (size_t)got;
    end = c->in + c->inlen;
    while (c->fd >= 0 && (nl = memchr(start, '\n', (size_t)(end - start)))) {
        *nl = '\0';
        if (memchr(start, '\0', (size_t)(nl - start)) || !valid(start))
            net_reply(c, "ERR bad line");
        else
            handle_line(c, start);
        start = nl + 1;
    }
    if (c->fd < 0) /* QUIT, or a failed reply */
        return;
    rest = (size_t)(end - start);
    if (rest == sizeof c->in) {
        net_reply(c, "ERR line too long");
        net_close(c);
        return;
    }
    memmove(c->in, start, rest);
    c->inlen = rest;
}

int net_poll(int listen_fd, int timeout_ms)
{
    struct pollfd pfd[MAX_CLIENTS + 1];
    struct client *owner[MAX_CLIENTS + 1];
    nfds_t n = 0;

    pfd[n].fd = listen_fd;
    pfd[n].events = POLLIN;
    owner[n++] = NULL;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (clients[i].fd < 0)
            continue;
        pfd[n].fd = clients[i].fd;
        pfd[n].events = POLLIN;
        owner[n++] = &clients[i];
    }
    if (poll(pfd, n, timeout_ms) < 0)
        return errno == EINTR ? 0 : -1;
    for (nfds_t k = 1; k < n; k++)
        if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
            client_input(owner[k]);
    /* Accept last, so that slots of clients that hung up in this round
     * are free again for the newcomers. */
    if (pfd[0].revents & POLLIN)
        while (accept_client(listen_fd))
            ;
    return 0;
}

void net_shutdown(int listen_fd)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].fd >= 0)
            net_close(&clients[i]);
    close(listen_fd);
}
