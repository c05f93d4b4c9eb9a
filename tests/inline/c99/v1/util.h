#ifndef UTIL_H
#define UTIL_H
/* C99 inline: an inline definition in every unit that includes this;
 * a.c alone gives it its external definition. */
inline int twice(int x) { return 2 * x; }
/* gnu_inline: an inline definition even in C99 mode; half.c defines it */
extern inline __attribute__((gnu_inline)) int half(int x) { return x / 2; }
static inline int plus_one(int x) { return x + 1; }
int a_val(int x);
int b_val(int x);
int (*b_ptr(void))(int);
#endif
