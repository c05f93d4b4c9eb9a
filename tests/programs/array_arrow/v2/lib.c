#include <stdio.h>
/* `->` on an array of a wrapped struct reaches its first element */
struct tally { int count; };
static struct tally tallies[2];
void handle(const char *cmd) { tallies->count++; printf("%s count=%d v2\n", cmd, tallies->count); }
