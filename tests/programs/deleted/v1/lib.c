#include <stdio.h>
static int count;
static int legacy(int x) { return -x; }
void handle(const char *cmd) { count++; printf("%s count=%d legacy=%d\n", cmd, count, legacy(count)); }
