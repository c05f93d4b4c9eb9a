/* A small table of counted keys, written the usual way. */
#include <string.h>
#include "table.h"

#define SLOTS 16

static struct entry entries[SLOTS];
static unsigned used;
static struct entry overflow = { "overflow", 0 };

static unsigned hash(const char *key)
{
    unsigned h = 5381;
    size_t i;
    for (i = 0; key[i]; i++)
        h = h * 33 + (unsigned char)key[i];
    return h;
}

struct entry *table_find(const char *key)
{
    unsigned i, start = hash(key) % SLOTS;
    for (i = start; entries[i].key[0]; i = (i + 1) % SLOTS)
        if (strcmp(entries[i].key, key) == 0)
            return &entries[i];
    if (used + 1 >= SLOTS)
        return &overflow;
    strncpy(entries[i].key, key, sizeof entries[i].key - 1);
    used++;
    return &entries[i];
}

unsigned table_size(void)
{
    return used;
}
