"""Transformations of a translation unit, one per module.

Each pass is registered by name with a description and can be switched off
(`dsu_tool.cc --no-pass NAME`, or the SCons variable DSUPASSES).  The driver
runs the enabled ones in registry order, inside one scope-aware traversal
(passes.binder), then regenerates the unit (codegen).
"""

from .promote import Promote
from .indirect import Indirect
from .wrap import Wrap

# (name, description, class), in the order they run
REGISTRY = [
    ('wrap', 'give every wrappable struct spare room and a version tag, so '
     'that a patch can change its layout', Wrap),
    ('promote', 'give file-static and function-local static names unique '
     'external names, and list every variable in the program\'s table',
     Promote),
    ('indirect', 'call every program-defined function through a slot; '
     'keep its symbol as a forwarding stub', Indirect),
]

DEFAULT = [name for name, _, _ in REGISTRY]
