#include "util.h"
extern inline int twice(int);
int a_val(int x) { return twice(x) + 1; }
