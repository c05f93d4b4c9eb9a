/* net.h -- the TCP side of kvd: listening, polling, per-client buffers.
 *
 * Per-client state lives in a fixed global array, so an update keeps every
 * connection, its half-read input line, its name and its request count.
 * struct client is byte-identical in every version of kvd.
 */
#ifndef KVD_NET_H
#define KVD_NET_H

#include <stddef.h>

#define MAX_CLIENTS 64
#define NAME_LEN 32   /* a client name is 1..NAME_LEN-1 characters */
#define INBUF_LEN 512 /* the longest request line is INBUF_LEN-1 bytes */

struct client {
    int fd;                 /* -1: the slot is free */
    char name[NAME_LEN];    /* set by HELLO; "" until then */
    unsigned long requests; /* request lines on this connection */
    size_t inlen;           /* bytes of an unfinished line in `in` */
    char in[INBUF_LEN];
};

extern struct client clients[MAX_CLIENTS];

/* Listens on 127.0.0.1:PORT (0: any free port); stores the port actually
 * bound in *BOUND.  Returns the listening socket, or -1 with errno set. */
int net_listen(int port, int *bound);

/* Waits up to TIMEOUT_MS for activity, then accepts new clients and runs
 * handle_line() for every complete line received.  Returns 0, or -1 on an
 * error other than EINTR. */
int net_poll(int listen_fd, int timeout_ms);

/* Sends one reply line (printf-style, the newline is added). */
void net_reply(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void net_close(struct client *c);
void net_shutdown(int listen_fd);

/* Provided by the application (main.c): handles one request line, without
 * its newline.  It may close C. */
void handle_line(struct client *c, char *line);

#endif /* KVD_NET_H */
