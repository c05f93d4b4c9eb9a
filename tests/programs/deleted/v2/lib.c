#include <stdio.h>
static int count;
void handle(const char *cmd) { count++; printf("%s count=%d\n", cmd, count); }
