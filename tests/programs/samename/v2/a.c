#include <stdio.h>
#include <string.h>
static int valid(const char *s) { return s[0] == 'a'; }
int b_valid(const char *s);
void handle(const char *cmd) { printf("%s a=%d b=%d\n", cmd, valid(cmd), b_valid(cmd)); }
