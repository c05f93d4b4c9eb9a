/* A forking server written the common way: the session lives on main's
 * stack; main calls the accept loop, and each child comes back here to
 * greet its client with what the session holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "session.h"

int main(int argc, char **argv)
{
    struct session s;
    char line[128];
    int fd, n;
    const char *mood = getenv("MOOD") ? getenv("MOOD") : "calm";

    memset(&s, 0, sizeof s);
    s.port = argc > 1 ? atoi(argv[1]) : 0;
    s.served = 7;
    strcpy(s.name, "alpha");
    strcpy(s.motto, "fresh");
    fd = serve(&s);
    if (fd < 0)
        return 1;
    n = snprintf(line, sizeof line, "v3 hello from %s, visitor %d, motto %s, %s\n",
                 s.name, s.served, s.motto, mood);
    if (write(fd, line, (size_t)n) != n)
        return 1;
    close(fd);
    return 0;
}
