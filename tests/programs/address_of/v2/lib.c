#include <stdio.h>
/* `&twice` and `twice` are the same function pointer */
static int twice(int x) { return 2 * x; }
static int apply(int (*fn)(int), int x) { return (*fn)(x); }
void handle(const char *cmd) { printf("%s %d %d\n", cmd, apply(&twice, 21), apply(twice, 1)); }
