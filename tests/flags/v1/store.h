int store_add(const char *key);
void store_describe(const char *key, char *out, unsigned long size);
