/* A small line server on loopback: it prints its port, then answers each
 * line of each client (proto.c), reaching its update point whenever it
 * is idle for 10 ms or has served a round of input. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <dsu.h>
#include "net.h"
#include "proto.h"

#define MAXFD 8

static struct pollfd fds[MAXFD];
static char pending[MAXFD][256];
static size_t used[MAXFD];
static int nfds;

static void drop(int i)
{
    close(fds[i].fd);
    fds[i] = fds[--nfds];
    memcpy(pending[i], pending[nfds], used[nfds]);
    used[i] = used[nfds];
}

void serve(int i)
{
    char out[256];
    ssize_t n = read(fds[i].fd, pending[i] + used[i], sizeof pending[i] - used[i] - 1);
    char *nl;
    if (n <= 0) {
        drop(i);
        return;
    }
    used[i] += n;
    pending[i][used[i]] = '\0';
    while ((nl = strchr(pending[i], '\n')) != NULL) {
        *nl = '\0';
        proto_reply(pending[i], out, sizeof out);
        strcat(out, "\n");
        if (write(fds[i].fd, out, strlen(out)) < 0)
            break;
        used[i] -= nl + 1 - pending[i];
        memmove(pending[i], nl + 1, used[i] + 1);
    }
}

int main(void)
{
    int listener = net_listen();
    if (listener < 0)
        return 1;
    printf("port %d\n", net_port(listener));
    fflush(stdout);
    fds[0].fd = listener;
    fds[0].events = POLLIN;
    nfds = 1;
    for (;;) {
        int i;
        DSU_update();
        if (poll(fds, nfds, 10) <= 0)
            continue;
        if ((fds[0].revents & POLLIN) && nfds < MAXFD) {
            fds[nfds].fd = net_accept(listener);
            fds[nfds].events = POLLIN;
            used[nfds] = 0;
            if (fds[nfds].fd >= 0)
                nfds++;
        }
        for (i = nfds - 1; i > 0; i--)
            if (fds[i].revents & (POLLIN | POLLHUP))
                serve(i);
    }
}
