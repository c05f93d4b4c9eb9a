#include <stdio.h>
static int count;
static inline int sevenfold(int x) { return 7 * x; }
void handle(const char *cmd) { count++; printf("%s count=%d sevenfold=%d\n", cmd, count, sevenfold(count)); }
