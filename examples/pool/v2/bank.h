/* The accounts the pool's workers serve. */
#ifndef BANK_H
#define BANK_H

#include <stddef.h>

#define NACCT 64

struct account {
    int flags; /* v2: room for account flags, unused yet */
    long balance;
    long deposits;
};

/* Answers one request line (without its newline) into REPLY. */
void bank_request(const char *line, char *reply, size_t n);

#endif
