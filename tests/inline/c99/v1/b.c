#include "util.h"
int b_val(int x) { return plus_one(twice(x)) * 10; }
int (*b_ptr(void))(int) { return twice; }
