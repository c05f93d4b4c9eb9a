#include <stdio.h>
/* The program defines a function gcc knows as a builtin.  gcc folds
 * abs(-3) to 3, so the ordinary build never calls it there; a patch
 * must compile such calls the same way. */
static int calls;
int abs(int x) { calls++; return x < 0 ? -x : x; }
void handle(const char *cmd) { int n = abs(-3); printf("%s abs=%d calls=%d v2\n", cmd, n, calls); }
