struct entry {
    char key[32];
    int count;
    int gets;
};

struct entry *table_find(const char *key);
unsigned table_size(void);
