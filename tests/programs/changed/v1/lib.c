#include <stdio.h>
static int count;
static int answer(void) { return 1; }
void handle(const char *cmd) { count++; printf("%s answer=%d count=%d\n", cmd, answer(), count); }
