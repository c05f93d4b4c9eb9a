/* store.h -- the key-value table of kvd.
 *
 * The table is a fixed-size global array in static storage, so an update
 * leaves it where it is and the new code finds every key the old code
 * stored.  v3 adds a field to struct entry: an update from v2 converts
 * each entry the first time v3 code touches it (reads starts at 0).
 */
#ifndef KVD_STORE_H
#define KVD_STORE_H

#include <stddef.h>

#define STORE_SLOTS 256 /* at most this many keys */
#define KEY_LEN 32      /* a key is 1..KEY_LEN-1 printable characters */
#define VAL_LEN 128     /* a value is at most VAL_LEN-1 bytes */

struct entry {
    char key[KEY_LEN];
    char val[VAL_LEN];
    int used;           /* 0: the slot is free */
    unsigned long reads; /* GETs of this key since v3 took over */
};

extern struct entry store_table[STORE_SLOTS];

/* Results of store_set(). */
enum { STORE_OK = 0, STORE_BAD_KEY = -1, STORE_TOO_LONG = -2, STORE_FULL = -3 };

int store_set(const char *key, const char *val);
const char *store_get(const char *key); /* NULL if KEY is absent */
/* Removes KEY and returns 1 if it existed; its value is copied to OLD
 * (at most OLDSZ bytes, always terminated) unless OLD is NULL. */
int store_del(const char *key, char *old, size_t oldsz);
int store_count(const char *prefix);    /* keys starting with PREFIX */
int store_find(const char *key);        /* slot of KEY, or -1 */
long store_reads(const char *key);      /* GETs of KEY, or -1 if absent */

#endif /* KVD_STORE_H */
