struct entry {
    char key[32];
    int count;
};

struct entry *table_find(const char *key);
unsigned table_size(void);
