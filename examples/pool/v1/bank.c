/* The accounts, under one lock. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bank.h"

static struct account accounts[NACCT];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void deposit(int id, long amount, char *reply, size_t n)
{
    struct account *a = &accounts[id];
    pthread_mutex_lock(&lock);
    a->balance += amount;
    a->deposits++;
    snprintf(reply, n, "OK %ld", a->balance);
    pthread_mutex_unlock(&lock);
}

static void balance(int id, char *reply, size_t n)
{
    struct account *a = &accounts[id];
    pthread_mutex_lock(&lock);
    snprintf(reply, n, "BAL %ld %ld", a->balance, a->deposits);
    pthread_mutex_unlock(&lock);
}

void bank_request(const char *line, char *reply, size_t n)
{
    int id;
    long amount;
    if (sscanf(line, "DEP %d %ld", &id, &amount) == 2 && id >= 0 && id < NACCT)
        deposit(id, amount, reply, n);
    else if (sscanf(line, "BAL %d", &id) == 1 && id >= 0 && id < NACCT)
        balance(id, reply, n);
    else if (strcmp(line, "VER") == 0)
        snprintf(reply, n, "v1");
    else
        snprintf(reply, n, "ERR bad request");
}
