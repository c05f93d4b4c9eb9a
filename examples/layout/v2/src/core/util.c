#include <string.h>
#include <strings.h>

const char *table_name(int i);

/* core's util: which slot holds NAME */
static int same(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;      /* v2: words match whatever their case */
}

int util_index(const char *name, int size)
{
    for (int i = 0; i < size; i++)
        if (same(table_name(i), name))
            return i;
    return -1;
}
