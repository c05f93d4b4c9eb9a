#include <stdio.h>
#include "banner.h"
#include "util.h"

/* net's util: also has a static `same`, with another meaning */
static int same(const char *a, const char *b)
{
    return a[0] == b[0];
}

const char *net_greeting(const char *who)
{
    static char line[64];
    snprintf(line, sizeof line, "%s: hello %s%s", BANNER, who,
             same(who, "root") ? " (admin?)" : "");
    return line;
}
