/* A unit whose functions the pass cannot all rewrite: each of the first
 * six holds a GNU C construct that makes it compiled as written.  The
 * others (handle, scaled) stay updateable. */
#include <stdio.h>
#include <stdlib.h>

#define MAX(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a > _b ? _a : _b; })
#define KIND(x) _Generic((x), int: "int", double: "double", default: "other")

struct tally { int calls; int total; };
static struct tally tally;
static int step = 1;
/* a declaration the parser cannot take */
int chosen = __builtin_choose_expr(1, 2, 3.0);

/* nested function */
static int sum_to(int n)
{
    int add(int k) { return k * step; }
    int s = 0;
    for (int i = 1; i <= n; i++)
        s += add(i);
    return s;
}

/* labels as values */
static const char *parity(int n)
{
    static void *targets[] = { &&even, &&odd };
    goto *targets[n & 1];
even:
    return "even";
odd:
    return "odd";
}

/* case ranges */
static int digits(int n)
{
    switch (n) {
    case 0 ... 9: return 1;
    case 10 ... 99: return 2;
    default: return 3;
    }
}

/* typeof in a statement expression */
static int biggest(int a, int b) { return MAX(a, b); }

/* _Generic */
static const char *kind(int n) { return KIND(n); }

/* __auto_type */
static long doubled(int n) { __auto_type d = 2L * n; return d + 0 * tally.calls; }

/* file-scope asm */
__asm__(".pushsection .rodata\n.globl aswritten_answer\naswritten_answer: .long 42\n"
        ".popsection");
extern const int aswritten_answer;
static int answer(void) { return aswritten_answer; }

static int scaled(int n) { return n * 100; }

void handle(const char *cmd)
{
    int n = atoi(cmd + 1);
    tally.calls++;
    tally.total += sum_to(n);
    printf("v2 %s sum=%d %s digits=%d max=%d %s doubled=%ld asm=%d scaled=%d "
           "calls=%d total=%d\n", cmd, sum_to(n), parity(n), digits(n), biggest(n, 5),
           kind(n), doubled(n), answer(), scaled(n), tally.calls, tally.total);
}
