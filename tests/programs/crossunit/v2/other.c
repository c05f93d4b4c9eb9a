#include <stdio.h>
#include <stdlib.h>
int twice(int x) { return 2 * x + 1; }
void fail(const char *why) { printf("%s\n", why); exit(1); }
