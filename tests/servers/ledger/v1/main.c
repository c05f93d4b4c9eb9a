#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <dsu.h>
#include "ledger.h"

static void handle(char *cmd)
{
    char out[512];
    if (strncmp(cmd, "add ", 4) == 0) {
        struct entry *e = find(cmd + 4, 1);
        e->count++;
        describe(e, out, sizeof out);
        printf("%s\n", out);
    } else if (strncmp(cmd, "get ", 4) == 0) {
        struct entry *e = find(cmd + 4, 0);
        if (e)
            describe(e, out, sizeof out);
        printf("%s\n", e ? out : "none");
    } else if (strncmp(cmd, "note ", 5) == 0) {
        note(cmd + 5);
    } else if (strncmp(cmd, "save ", 5) == 0) {
        printf("saved %d\n", save(cmd + 5));
    } else if (strncmp(cmd, "load ", 5) == 0) {
        int n = load(cmd + 5, out, sizeof out);
        printf("loaded %d %s\n", n, n < 0 ? "" : out);
    } else if (strcmp(cmd, "layout") == 0) {
        show_layout(out, sizeof out);
        printf("%s\n", out);
    } else {
        printf("?\n");
    }
}

int main(void)
{
    char line[512];
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    for (;;) {
        struct pollfd in = { 0, POLLIN, 0 };
        DSU_update();
        if (poll(&in, 1, 10) <= 0)
            continue;
        if (!fgets(line, sizeof line, stdin))
            break;
        line[strcspn(line, "\n")] = '\0';
        handle(line);
    }
    return 0;
}
