/* The forking server of v1/, with a retry that jumps back across the
 * call of the accept loop: the code after the call cannot be moved out
 * of main, and stays there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "session.h"

int main(int argc, char **argv)
{
    struct session s;
    char line[128];
    int fd, n, tries = 0;

again:
    memset(&s, 0, sizeof s);
    s.port = argc > 1 ? atoi(argv[1]) : 0;
    s.served = 7;
    strcpy(s.name, "alpha");
    fd = serve(&s);
    if (fd < 0 && ++tries < 3)
        goto again;
    if (fd < 0)
        return 1;
    n = snprintf(line, sizeof line, "v1 hello from %s, visitor %d\n", s.name, s.served);
    if (write(fd, line, (size_t)n) != n)
        return 1;
    close(fd);
    return 0;
}
