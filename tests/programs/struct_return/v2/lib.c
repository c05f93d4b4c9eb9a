#include <stdio.h>
/* a field of a struct returned by a function the patch also replaces */
struct pair { int a, b; };
static struct pair make(int x) { struct pair p = { x, x + 2 }; return p; }
void handle(const char *cmd) { printf("%s b=%d\n", cmd, make(1).b); }
