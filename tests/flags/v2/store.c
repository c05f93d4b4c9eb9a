#include <stdio.h>
#include <string.h>
#include "store.h"

#define SLOTS 64

static char keys[SLOTS][32];
static int counts[SLOTS];

static unsigned slot_of(const char *key)
{
    unsigned h = 5381, i;
    for (i = 0; key[i]; i++)
        h = h * 33 + (unsigned char)key[i];
    for (i = h % SLOTS; keys[i][0] && strcmp(keys[i], key) != 0; i = (i + 1) % SLOTS)
        ;
    if (!keys[i][0])
        snprintf(keys[i], sizeof keys[i], "%s", key);
    return i;
}

int store_add(const char *key)
{
    return ++counts[slot_of(key)];
}

void store_describe(const char *key, char *out, unsigned long size)
{
    snprintf(out, size, "%s=%d (v2)", key, counts[slot_of(key)]);
}
