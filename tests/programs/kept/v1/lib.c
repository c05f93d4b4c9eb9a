#include <stdio.h>
int hits = 0;
void handle(const char *cmd) { hits++; printf("%s hits=%d\n", cmd, hits); }
