#include <stddef.h>
#include <stdio.h>
#include "ledger.h"

/* A layout observed in one unit: struct stats is also used in store.c. */
void show_layout(char *out, size_t n)
{
    const char *base = (const char *)&stats;
    snprintf(out, n, "misses at %zu: hits=%ld misses=%ld",
             offsetof(struct stats, misses), stats.hits,
             *(const long *)(base + offsetof(struct stats, misses)));
}
