#include <stdio.h>
static int count;
/* an inline asm statement in a function the patch replaces */
static int answer(int x)
{
    __asm__ volatile ("" : "+r" (x) : : "memory");
    return x + 2;
}
void handle(const char *cmd) { count++; printf("%s answer=%d count=%d\n", cmd, answer(0), count); }
