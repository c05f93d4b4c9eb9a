/* store.c -- the key-value table (kvd v3). */
#include <ctype.h>
#include <string.h>

#include "store.h"

struct entry store_table[STORE_SLOTS];

/* A key is 1..KEY_LEN-1 printable non-space characters, so that it fits
 * its slot and can be split off a request line at the next space. */
static int valid(const char *key)
{
    size_t n = strlen(key);

    if (n == 0 || n >= KEY_LEN)
        return 0;
    for (; *key; key++)
        if (!isgraph((unsigned char)*key))
            return 0;
    return 1;
}

/* A linear scan: 256 slots are cheap to search, and a plain array keeps
 * the state the same in every version.  Global since v3, for EXISTS. */
int store_find(const char *key)
{
    for (int i = 0; i < STORE_SLOTS; i++)
        if (store_table[i].used && strcmp(store_table[i].key, key) == 0)
            return i;
    return -1;
}

int store_set(const char *key, const char *val)
{
    size_t vlen = strlen(val);
    int i;

    if (!valid(key))
        return STORE_BAD_KEY;
    if (vlen >= VAL_LEN)
        return STORE_TOO_LONG;
    i = store_find(key);
    if (i < 0) {
        for (i = 0; i < STORE_SLOTS && store_table[i].used; i++)
            ;
        if (i == STORE_SLOTS)
            return STORE_FULL;
        memcpy(store_table[i].key, key, strlen(key) + 1);
        store_table[i].used = 1;
    }
    memcpy(store_table[i].val, val, vlen + 1);
    return STORE_OK;
}

const char *store_get(const char *key)
{
    int i = store_find(key);

    if (i < 0)
        return NULL;
    store_table[i].reads++;
    return store_table[i].val;
}

long store_reads(const char *key)
{
    int i = store_find(key);

    return i < 0 ? -1 : (long)store_table[i].reads;
}

int store_del(const char *key, char *old, size_t oldsz)
{
    int i = store_find(key);

    if (i < 0)
        return 0;
    if (old && oldsz > 0) {
        strncpy(old, store_table[i].val, oldsz - 1);
        old[oldsz - 1] = '\0';
    }
    store_table[i].used = 0;
    return 1;
}

int store_count(const char *prefix)
{
    size_t plen;
    int n = 0;

    if (!prefix)
        prefix = "";
    plen = strlen(prefix);
    for (int i = 0; i < STORE_SLOTS; i++)
        if (store_table[i].used
            && strncmp(store_table[i].key, prefix, plen) == 0)
            n++;
    return n;
}
