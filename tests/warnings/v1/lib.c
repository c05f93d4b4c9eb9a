/* Commands: "add KEY" counts KEY, "get KEY" shows it, "calls" says how
 * often handle() ran (a function-local static), "size" the table size. */
#include <stdio.h>
#include <string.h>
#include "table.h"

typedef void (*command_fn)(const char *arg);

static void describe(const struct entry *e)
{
    printf("%s=%d\n", e->key, e->count);
}

static void add(const char *arg)
{
    struct entry local = { "local", 0 };
    struct entry *e = table_find(arg);
    if (!e)
        e = &local;
    e->count++;
    describe(e);
}

static void get(const char *arg)
{
    struct entry *e = table_find(arg);
    if (e)
        describe(e);
}

static const struct {
    const char *name;
    command_fn run;
} commands[] = {
    { "add", add },
    { "get", get },
};

void handle(const char *cmd)
{
    static int calls;
    size_t i;
    calls++;
    if (strcmp(cmd, "calls") == 0) {
        printf("calls=%d\n", calls);
        return;
    }
    if (strcmp(cmd, "size") == 0) {
        printf("size=%u\n", table_size());
        return;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        size_t n = strlen(commands[i].name);
        if (strncmp(cmd, commands[i].name, n) == 0 && cmd[n] == ' ') {
            commands[i].run(cmd + n + 1);
            return;
        }
    }
    printf("unknown\n");
}
