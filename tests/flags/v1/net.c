#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "net.h"

static int reusable(int fd)
{
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
}

int net_listen(void)
{
    struct sockaddr_in sa = { 0 };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || reusable(fd) < 0)
        return -1;
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int net_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    return ntohs(sa.sin_port);
}

int net_accept(int fd)
{
    return accept(fd, NULL, NULL);
}
