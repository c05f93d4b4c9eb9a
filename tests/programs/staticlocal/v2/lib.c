#include <stdio.h>
static int counter(void) { static int n; n += 10; return n; }
void handle(const char *cmd) { printf("%s n=%d\n", cmd, counter()); }
