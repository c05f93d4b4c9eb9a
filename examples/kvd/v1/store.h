/* store.h -- the key-value table of kvd.
 *
 * The table is a fixed-size global array in static storage, so an update
 * leaves it where it is and the new code finds every key the old code
 * stored.  The definitions below are byte-identical in every version of
 * kvd: changing the layout would need a state transformer, which this
 * example avoids on purpose.
 */
#ifndef KVD_STORE_H
#define KVD_STORE_H

#define STORE_SLOTS 256 /* at most this many keys */
#define KEY_LEN 32      /* a key is 1..KEY_LEN-1 printable characters */
#define VAL_LEN 128     /* a value is at most VAL_LEN-1 bytes */

struct entry {
    char key[KEY_LEN];
    char val[VAL_LEN];
    int used;           /* 0: the slot is free */
};

extern struct entry store_table[STORE_SLOTS];

/* Results of store_set(). */
enum { STORE_OK = 0, STORE_BAD_KEY = -1, STORE_TOO_LONG = -2, STORE_FULL = -3 };

int store_set(const char *key, const char *val);
const char *store_get(const char *key); /* NULL if KEY is absent */
int store_del(const char *key);         /* 1 if KEY existed */
int store_count(void);

#endif /* KVD_STORE_H */
