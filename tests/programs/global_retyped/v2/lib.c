#include <stdio.h>
static long total;
static struct { int runs; int level; } cfg = { 5, 1 };
void handle(const char *cmd)
{
    total += 1000000000;
    cfg.runs++;
    printf("%s total=%ld runs=%d level=%d\n", cmd, total, cfg.runs, cfg.level);
}
