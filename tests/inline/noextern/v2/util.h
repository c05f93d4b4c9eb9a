#ifndef UTIL_H
#define UTIL_H
/* C99 inline with no external definition anywhere: every call is
 * inlined (at -O2), and the program has no symbol `lucky` at all */
inline int lucky(int x) { return x + 70; }
int other(int x);
#endif
