#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ledger.h"

#define MAGIC 0x4c454447u

int save(const char *path)
{
    struct header h = { MAGIC, 0 };
    struct entry *e;
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    for (e = entries; e; e = e->next)
        h.count++;
    fwrite(&h, sizeof h, 1, f);
    for (e = entries; e; e = e->next) {
        struct record r;
        memset(&r, 0, sizeof r);
        r.id = (int)h.count--;
        r.count = e->count;
        memcpy(r.key, e->key, sizeof r.key);
        fwrite(&r, sizeof(struct record), 1, f);
    }
    return fclose(f);
}

int load(const char *path, char *out, size_t n)
{
    struct header h;
    struct record r;
    size_t used = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    if (read(fd, &h, sizeof h) != sizeof h || h.magic != MAGIC) {
        close(fd);
        return -1;
    }
    used += snprintf(out, n, "%u:", h.count);
    while (read(fd, &r, sizeof r) == sizeof r && used < n)
        used += snprintf(out + used, n - used, " %d/%s=%ld", r.id, r.key, r.count);
    close(fd);
    return (int)h.count;
}
