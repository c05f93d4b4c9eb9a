"""Transformations of a translation unit, one per module.

Each pass is registered by name with a description and can be switched off
(`dsu_tool.cc --passes a,b`, or the SCons variable DSUPASSES).  The driver
runs the enabled ones in registry order, inside one scope-aware traversal
(passes.binder), then regenerates the unit (codegen).
"""

from .loops import extract_loops
from .continuations import extract_continuations
from .promote import Promote
from .indirect import Indirect
from .wrap import Wrap

# AST-to-AST steps that run first, on the parsed unit, by name.  The patch
# generator runs them too, so that it compares what the program runs.
PRE_PASSES = [
    ('loops', 'extract the body of every loop that holds an update point into '
     'its own function, and move the update point to the loop head', extract_loops),
    ('continuations', 'move the code that follows a call leading to an update point, '
     'to the end of its function, into a function called through a slot, so that '
     'a change to it takes effect when that call returns', extract_continuations),
]

# (name, description, class), in the order they run
REGISTRY = [
    ('wrap', 'give every wrappable struct spare room and a version tag, so '
     'that a patch can change its layout', Wrap),
    ('promote', 'give file-static and function-local static names unique '
     'external names, and list every variable in the program\'s table',
     Promote),
    ('indirect', 'call every program-defined function through a slot; '
     'keep its symbol as a forwarding stub', Indirect),
    # an option of 'indirect' (no traversal of its own)
    ('direct', 'call functions of the same unit directly, so gcc can inline '
     'them; a patch that changes one also replaces its direct callers, and code '
     'already running keeps calling the old version until it returns', None),
    # an option of 'indirect' too
    ('slots', 'call functions of other units through their slots, not through '
     'their forwarding stubs (a jump less); the stub stays for pointers to '
     'the function', None),
]

DEFAULT = [name for name, _, _ in PRE_PASSES + REGISTRY]


def run_pre_passes(unit, enabled=None):
    for name, _, step in PRE_PASSES:
        if enabled is None or name in enabled:
            step(unit)
    return unit
