#include <stdio.h>
static int count;
int helper(int x) { return x + 10; }
static int shared(int x) { return x * 3; }
int via_b(int x);
static int (*saved)(int) = helper;
void handle(const char *cmd) { count++; printf("%s helper=%d shared=%d via_b=%d saved=%d\n", cmd, helper(count), shared(count), via_b(count), saved(count)); }
