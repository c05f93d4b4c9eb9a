#include <stdio.h>
struct rect { int w, h; };
static struct rect box = { 2, 3 };
static int area(const struct rect *r) { return r->w * r->h; }
void handle(const char *cmd) { box.w++; printf("%s w=%d h=%d area=%d\n", cmd, box.w, box.h, area(&box)); }
