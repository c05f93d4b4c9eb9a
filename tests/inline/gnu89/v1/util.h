#ifndef UTIL_H
#define UTIL_H
/* gnu89: `extern inline` is for inlining only; sq.c defines sq */
extern inline int sq(int x) { return x * x; }
int cube(int x);
#endif
