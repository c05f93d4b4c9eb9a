/* v2: struct op gains a field, the table its values, and a new const
 * object of the new layout is added. */
#include <stdio.h>
#include <string.h>

struct op { const char *name; int code; int weight; };

static const struct op ops[] = { {"add", 1, 10}, {"sub", 2, 20}, {"mul", 3, 30} };
static const struct op extra = { "div", 4, 40 };

void handle(const char *cmd)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(ops[i].name, cmd))
            printf("%s code=%d weight=%d\n", cmd, ops[i].code, ops[i].weight);
    if (!strcmp(extra.name, cmd))
        printf("%s code=%d weight=%d\n", cmd, extra.code, extra.weight);
}
