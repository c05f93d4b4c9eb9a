/* The accept loop: forks a child per connection; the parent never
 * returns, a child returns the client's socket to its caller. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dsu.h>
#include "session.h"

static int listen_on(int port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0)
        return -1;
    getsockname(fd, (struct sockaddr *)&a, &len);
    printf("listening on %d\n", ntohs(a.sin_port));
    fflush(stdout);
    return fd;
}

int serve(struct session *s)
{
    int lfd = listen_on(s->port);
    if (lfd < 0)
        return -1;
    for (;;) {
        struct pollfd p = { lfd, POLLIN, 0 };
        DSU_update();
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        if (poll(&p, 1, 10) <= 0)
            continue;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        s->served++;
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            return fd;
        }
        close(fd);
    }
}
