#include <stdio.h>
#include <string.h>
#include "alloc.h"
#include "ledger.h"

struct entry *entries;
struct session *session;
struct stats stats;
static long created;

struct entry *find(const char *key, int create)
{
    struct entry *e;
    for (e = entries; e; e = e->next)
        if (strcmp(e->key, key) == 0) {
            stats.hits++;
            return e;
        }
    stats.misses++;
    if (!create)
        return NULL;
    e = xmalloc(sizeof *e);
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
    e->first = ++created;
    e->next = entries;
    entries = e;
    return e;
}

void describe(const struct entry *e, char *out, size_t n)
{
    snprintf(out, n, "%s count=%ld first=%ld", e->key, e->count, e->first);
}

void note(const char *text)
{
    if (!session) {
        session = xcalloc(1, sizeof(struct session));
        session->id = 7;
    }
    session->lines++;
    snprintf(session->buf, sizeof session->buf, "%s", text);
    session->chars += (int)strlen(session->buf);
    printf("session %d lines=%d buf=%s chars=%d\n", session->id, session->lines,
           session->buf, session->chars);
}
