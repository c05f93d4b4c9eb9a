#include <string.h>
static int valid(const char *s) { return strlen(s) > 3; }
int b_valid(const char *s) { return valid(s); }
