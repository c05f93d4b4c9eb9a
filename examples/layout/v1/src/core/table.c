#include <string.h>
#include "table.h"

struct slot { int hits; char name[16]; };   /* TABLE_SLOTS comes from the build */
static struct slot slots[TABLE_SLOTS];
static int used;

int util_index(const char *name, int size);

int table_bump(const char *name)
{
    int i = util_index(name, used);
    if (i < 0) {
        if (used == TABLE_SLOTS)
            return -1;
        i = used++;
        strncpy(slots[i].name, name, sizeof slots[i].name - 1);
    }
    return ++slots[i].hits;
}

int table_size(void)
{
    return used;
}

const char *table_name(int i)
{
    return slots[i].name;
}
