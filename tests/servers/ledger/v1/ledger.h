/* A key counter that saves its state to a file. */
struct entry {                  /* allocated with xmalloc(sizeof *e) */
    char key[32];
    long count;
    struct entry *next;
};

struct session {                /* ends in a fixed-size buffer */
    int id;
    int lines;
    char buf[64];
};

struct record {                 /* the file's format */
    int id;
    long count;
    char key[32];
};

struct header {
    unsigned magic;
    unsigned count;
};

struct stats {                  /* another unit observes its layout */
    long hits;
    long misses;
};

extern struct entry *entries;
extern struct session *session;
extern struct stats stats;

struct entry *find(const char *key, int create);
void describe(const struct entry *e, char *out, size_t n);
void note(const char *text);
int save(const char *path);
int load(const char *path, char *out, size_t n);
void show_layout(char *out, size_t n);
