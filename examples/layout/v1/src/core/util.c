#include <string.h>

const char *table_name(int i);

/* core's util: which slot holds NAME */
static int same(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

int util_index(const char *name, int size)
{
    for (int i = 0; i < size; i++)
        if (same(table_name(i), name))
            return i;
    return -1;
}
