/* A const table of a struct whose layout the patch changes. */
#include <stdio.h>
#include <string.h>

struct op { const char *name; int code; };

static const struct op ops[] = { {"add", 1}, {"sub", 2}, {"mul", 3} };

void handle(const char *cmd)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(ops[i].name, cmd))
            printf("%s code=%d\n", cmd, ops[i].code);
}
