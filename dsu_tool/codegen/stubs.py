"""Forwarding stubs: the stable address of a patchable function.

A stub is a tail jump through the function's slot, written in assembly so
that it forwards any signature unchanged: variadic functions, structs by
value, whatever is in registers or on the stack.  Function pointers taken
before an update (callback tables, qsort comparators) point at the stub,
so they reach the newest body of a function whose signature is unchanged.
The slot is hidden and defined in the same unit as its stub, so on
x86-64 the jump reads it at its RIP-relative address.

The stub switches to .text with .pushsection and goes back with
.popsection: gcc does not see into top-level asm and believes it is
still in the section it chose last, so a variable it emits after the
stub without a section directive of its own (a slot, at -O0 or after a
static function) would otherwise land in .text, read-only at run time.
"""

import platform

from ..frontend.errors import DsuError

_X86_64 = '''\t.pushsection .text
\t.globl {name}
\t.type {name}, @function
{name}:
\tendbr64
\tjmpq *{slot}(%rip)
\t.size {name}, .-{name}
\t.popsection
'''

# x16 (IP0) is the intra-procedure-call scratch register of the AAPCS64.
_AARCH64 = '''\t.pushsection .text
\t.globl {name}
\t.type {name}, %function
{name}:
\tadrp x16, :got:{slot}
\tldr x16, [x16, :got_lo12:{slot}]
\tldr x16, [x16]
\tbr x16
\t.size {name}, .-{name}
\t.popsection
'''

_TEMPLATES = {'x86_64': _X86_64, 'amd64': _X86_64, 'aarch64': _AARCH64,
              'arm64': _AARCH64}


def stub_asm(name, slot, hidden=False, machine=None, local=False):
    machine = (machine or platform.machine()).lower()
    template = _TEMPLATES.get(machine)
    if template is None:
        raise DsuError('forwarding stubs are not implemented for the %s '
                       'architecture (x86_64 and aarch64 are)' % machine)
    text = template.format(name=name, slot=slot)
    if local:            # a symbol of this object file only
        text = text.replace('\t.globl %s\n' % name, '')
    elif hidden:
        text = text.replace('\t.globl %s\n' % name,
                            '\t.globl %s\n\t.hidden %s\n' % (name, name))
    lines = ''.join('"%s\\n"\n' % l for l in text.rstrip('\n').split('\n'))
    return '__asm__(\n%s);\n' % lines
