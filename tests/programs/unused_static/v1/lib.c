#include <stdio.h>
static int count;
/* unused in v1: gcc drops it, and so does the updateable build */
static inline int sevenfold(int x) { return 7 * x; }
void handle(const char *cmd) { count++; printf("%s count=%d\n", cmd, count); }
