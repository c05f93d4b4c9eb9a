#include <stddef.h>
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
