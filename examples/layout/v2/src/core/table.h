/* A small table of named counters, in the program's own library. */
#ifndef TABLE_H
#define TABLE_H
int table_bump(const char *name);   /* the counter after adding one */
int table_size(void);
#endif
