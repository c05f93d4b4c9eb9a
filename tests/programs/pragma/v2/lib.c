#include <stdio.h>
/* pragmas at file scope are repeated in the patch */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
static int spare(void) { return 0; }
#pragma GCC diagnostic pop
static int count;
void handle(const char *cmd) { count++; printf("%s count=%d v2\n", cmd, count); }
