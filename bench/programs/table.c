/* A chained hash table of heap nodes: small functions (hash, find,
 * insert, bump) on structs reached through pointers. */
#include <stdio.h>
#include <stdlib.h>

struct node { unsigned key; unsigned count; struct node *next; };
struct table { struct node **buckets; unsigned size, used; };

static unsigned hash(unsigned k) { return (k * 2654435761u) >> 7; }

static struct node *find(const struct table *t, unsigned key)
{
    for (struct node *n = t->buckets[hash(key) % t->size]; n; n = n->next)
        if (n->key == key)
            return n;
    return NULL;
}

static struct node *insert(struct table *t, unsigned key)
{
    struct node *n = malloc(sizeof *n);
    unsigned b = hash(key) % t->size;
    n->key = key;
    n->count = 0;
    n->next = t->buckets[b];
    t->buckets[b] = n;
    t->used++;
    return n;
}

static void bump(struct table *t, unsigned key)
{
    struct node *n = find(t, key);
    if (!n)
        n = insert(t, key);
    n->count++;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    struct table t = { calloc(4096, sizeof(struct node *)), 4096, 0 };
    unsigned s = 7, best = 0;
    for (int i = 0; i < 400000 * scale; i++) {
        s = s * 1103515245u + 12345u;
        bump(&t, (s >> 12) % 20000);
    }
    for (unsigned k = 0; k < 20000; k++) {
        struct node *n = find(&t, k);
        if (n && n->count > best)
            best = n->count;
    }
    printf("%u %u\n", t.used, best);
    return 0;
}
