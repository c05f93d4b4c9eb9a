#include <stdio.h>
static int count;
int scale = 3;
static int answer(void) { return 1; }
static int scaled(int x) { return x * scale; }
void handle(const char *cmd) { count++; printf("%s answer=%d count=%d scaled=%d\n", cmd, answer(), count, scaled(count)); }
