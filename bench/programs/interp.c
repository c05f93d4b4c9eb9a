/* A small bytecode interpreter: a dispatch loop over many small
 * functions that read and write a struct (the machine). */
#include <stdio.h>
#include <stdlib.h>

enum op { PUSH, ADD, MUL, DUP, SWAP, DEC, JNZ, POP, MOD, HALT };
struct insn { enum op op; long arg; };
struct vm { unsigned long stack[64]; int sp; int pc; long steps; };

static void push(struct vm *m, unsigned long v) { m->stack[m->sp++] = v; }
static unsigned long pop(struct vm *m) { return m->stack[--m->sp]; }
static unsigned long top(const struct vm *m) { return m->stack[m->sp - 1]; }
static void binop(struct vm *m, enum op op)
{
    unsigned long b = pop(m), a = pop(m);
    push(m, op == ADD ? a + b : op == MUL ? a * b : a % b);
}
static void swap(struct vm *m)
{
    unsigned long b = pop(m), a = pop(m);
    push(m, b);
    push(m, a);
}

static int step(struct vm *m, const struct insn *code)
{
    const struct insn *i = &code[m->pc++];
    m->steps++;
    switch (i->op) {
    case PUSH: push(m, i->arg); break;
    case ADD: case MUL: case MOD: binop(m, i->op); break;
    case DUP: push(m, top(m)); break;
    case SWAP: swap(m); break;
    case DEC: push(m, pop(m) - 1); break;
    case JNZ: if (top(m)) m->pc = (int)i->arg; break;
    case POP: pop(m); break;
    case HALT: return 0;
    }
    return 1;
}

static unsigned long run(const struct insn *code, long n)
{
    struct vm m = { .sp = 0, .pc = 0, .steps = 0 };
    push(&m, 1);              /* accumulator */
    push(&m, n);              /* counter */
    while (step(&m, code))
        ;
    pop(&m);
    return pop(&m) + m.steps;
}

int main(int argc, char **argv)
{
    /* acc = acc * 31 + counter, while --counter (modulo 2^64) */
    static const struct insn code[] = {
        { SWAP, 0 }, { PUSH, 31 }, { MUL, 0 }, { SWAP, 0 }, { DUP, 0 },
        { PUSH, 0 }, { ADD, 0 }, { SWAP, 0 }, { POP, 0 },
        /* stack: acc*31 counter -> acc*31+counter counter */
        { SWAP, 0 }, { PUSH, 0 }, { ADD, 0 }, { SWAP, 0 },
        { DEC, 0 }, { JNZ, 0 }, { HALT, 0 },
    };
    long scale = argc > 1 ? atol(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    printf("%lu\n", run(code, 200000 * scale));
    return 0;
}
