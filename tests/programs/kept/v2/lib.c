#include <stdio.h>
int hits = 100;
void handle(const char *cmd) { hits++; printf("%s hits=%d (v2)\n", cmd, hits); }
