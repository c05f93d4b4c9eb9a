#include <stdio.h>
struct rect { int w, h; };
static struct rect box = { 2, 3 };
void handle(const char *cmd) { box.w++; printf("%s w=%d h=%d\n", cmd, box.w, box.h); }
