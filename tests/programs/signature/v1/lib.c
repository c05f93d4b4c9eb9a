#include <stdio.h>
static int count;
static int add(int a) { return a + 1; }
static int twice(int x) { return 2 * x; }
static int report(void) { return (int)twice(count); }
void handle(const char *cmd) { count++; printf("%s add=%d report=%d\n", cmd, add(count), report()); }
