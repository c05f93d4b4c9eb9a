#include <stdio.h>
static int where(void) { return __LINE__; }
void handle(const char *cmd) { printf("%s line=%d\n", cmd, where()); }
