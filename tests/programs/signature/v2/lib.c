#include <stdio.h>
static int count;
static int add(int a, int b) { return a + b; }
static long twice(long x) { return 3 * x; }
static int report(void) { return (int)twice(count); }
void handle(const char *cmd) { count++; printf("%s add=%d report=%d\n", cmd, add(count, 10), report()); }
