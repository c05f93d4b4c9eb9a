#include <stdio.h>
static int total;
static struct { int runs; } cfg = { 5 };
void handle(const char *cmd)
{
    total += 1000000000;
    cfg.runs++;
    printf("%s total=%d runs=%d\n", cmd, total, cfg.runs);
}
