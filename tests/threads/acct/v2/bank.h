/* The accounts: moved between by transfer(), summed by audit(). */
#ifndef BANK_H
#define BANK_H
#include <pthread.h>

#define NACCT 8

struct acct {
    int flags;
    long balance;
    long ops;
};

extern pthread_mutex_t mu;
void transfer(unsigned from, unsigned to);
void audit(long *total, long *ops);

#endif
