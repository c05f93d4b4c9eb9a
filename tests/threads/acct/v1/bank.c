#include <pthread.h>
#include "bank.h"

static struct acct accts[NACCT];
pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

void transfer(unsigned from, unsigned to)
{
    pthread_mutex_lock(&mu);
    accts[from % NACCT].balance -= 3;
    accts[to % NACCT].balance += 3;
    accts[from % NACCT].ops++;
    accts[to % NACCT].ops++;
    pthread_mutex_unlock(&mu);
}

void audit(long *total, long *ops)
{
    pthread_mutex_lock(&mu);
    *total = *ops = 0;
    for (int i = 0; i < NACCT; i++) {
        *total += accts[i].balance;
        *ops += accts[i].ops;
    }
    pthread_mutex_unlock(&mu);
}
