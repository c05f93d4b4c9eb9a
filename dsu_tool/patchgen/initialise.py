"""Initialisers of patch-defined objects that name the running program.

A table the patch defines (`static const struct command commands[] =
{{"open", cmd_open}, ...}`) often holds addresses of the running
program's functions and variables.  The patch binds to those only
through import cells that the runtime fills when it applies the patch,
so they are not link-time constants.  Such an object is therefore made
in two steps:

  * its definition keeps the initialiser's shape, with every element that
    names the running program set to 0: the object has its full size and
    every other element its value from the start;
  * a fill routine, run by the runtime after every import is resolved and
    before anything of the program changes (with the state transformers),
    builds the whole value in an automatic object, where any expression
    is allowed, and copies it over.

The C compiler, not this module, interprets the initialiser both times
(designators, brace elision, strings), so the two cannot disagree on
where an element goes.  The object is defined writable (the routine
writes it); the patch's code was checked against the `const` of B's
source and cannot write it.
"""


from pycparser import c_ast

from ..codegen.literals import c_string
from ..codegen.records import record
from ..passes.common import copy_tree, declaration, nodes

FILL = '__dsu_fill_%d'
VALUE = '__dsu_value'


def names_running_program(init, is_running):
    """Does initialiser INIT use an identifier for which IS_RUNNING(name)
    is true (a definition of the running program, not of the patch)?"""
    return init is not None and any(
        isinstance(n, c_ast.ID) and is_running(n.name) for n in nodes(init))


def drop_object_const(ty):
    """Drop `const` from the object of type TY (down its arrays), not from
    what a pointer in it points to."""
    node = ty
    while isinstance(node, c_ast.ArrayDecl):
        node = node.type
    if isinstance(node, (c_ast.TypeDecl, c_ast.PtrDecl)):
        node.quals = [q for q in node.quals or [] if q != 'const']


def constant_shape(init, cells):
    """A copy of INIT in which each element that uses one of CELLS (import
    cells) is 0; everything else, braces and designators included, is
    kept, so the object keeps its size and the other elements' values."""
    def uses_cell(node):
        return any(isinstance(n, c_ast.ID) and n.name in cells for n in nodes(node))

    def shape(node):
        if isinstance(node, c_ast.InitList):
            node.exprs = [shape(e) for e in node.exprs]
            return node
        if isinstance(node, c_ast.NamedInitializer):
            node.expr = shape(node.expr)
            return node
        return c_ast.Constant('int', '0', node.coord) if uses_cell(node) else node
    return shape(copy_tree(init))


class Fills:
    """The fill routines of one patch file."""

    def __init__(self, cgen):
        self.cgen = cgen
        self.states = []          # dsu_state records

    def routine(self, where, ty, init, storage):
        """C text of the routine that sets STORAGE (of declared type TY)
        from INIT (rewritten: it reads import cells).  WHERE names the
        variable for the runtime's messages."""
        n = len(self.states)
        value = declaration(ty, VALUE)
        value.init = init
        self.states.append(record('dsu_state', name=c_string(where),
                                  transform=FILL % n))
        return ('static int %s(void)\n{\n    %s;\n    __builtin_memcpy((void *)&%s, '
                '(const void *)&%s, sizeof %s);\n    return 0;\n}\n' % (
                    FILL % n, self.cgen.visit(value), storage, VALUE, storage))
