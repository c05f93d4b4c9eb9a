#include <stdio.h>
static int count;
static const int limit = 50;
const char banner[] = "version two";
static const char *show(void) { return banner; }
void handle(const char *cmd) { count++; printf("%s limit=%d banner=%s size=%zu\n", cmd, limit, show(), sizeof banner); }
