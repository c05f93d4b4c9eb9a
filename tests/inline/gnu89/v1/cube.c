#include "util.h"
/* gnu89: `inline` alone is an external definition */
inline int cube(int x) { return sq(x) * x; }
