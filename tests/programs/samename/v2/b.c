#include <string.h>
static int valid(const char *s) { return strlen(s) > 5; }
int b_valid(const char *s) { return valid(s); }
