#include <stdio.h>
#include <string.h>
#include "proto.h"
#include "store.h"

static const char *argument(const char *line)
{
    const char *space = strchr(line, ' ');
    return space ? space + 1 : "";
}

void proto_reply(const char *line, char *out, unsigned long size)
{
    if (strncmp(line, "add ", 4) == 0) {
        store_add(argument(line));
        store_describe(argument(line), out, size);
    } else if (strncmp(line, "get ", 4) == 0) {
        store_describe(argument(line), out, size);
    } else {
        snprintf(out, size, "error: %s", line);
    }
}
