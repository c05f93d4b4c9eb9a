#include <stdio.h>
/* a library function the program declares itself (no <stdlib.h>) */
int atoi(const char *text);
void handle(const char *cmd)
{
    int (*convert)(const char *) = atoi;
    printf("%s n=%d\n", cmd, convert("42"));
}
