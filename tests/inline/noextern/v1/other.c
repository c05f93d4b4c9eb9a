#include "util.h"
int other(int x) { return lucky(x) * 2; }
