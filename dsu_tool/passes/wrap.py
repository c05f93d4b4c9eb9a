"""Type wrapping.

Every wrapped struct (model.structs) gets spare room and a version tag
after its fields, a fixed size across versions, and an entry in the
program's table of types (section dsu_types).  The program's own code
never checks tags: before any patch changes a type, every object is in
the layout the program was built with.  Patch code that reads fields
checks and converts lazily (patchgen.emit).

The unit also records the measured size and tag offset of each wrapped
type in the section dsu_sizes of its object; the compiler wrapper reads
them back into the unit's manifest and the project's layouts.json.
"""

from pycparser import c_ast

from ..frontend.errors import error_at
from ..model.structs import ROOM, TAG, room_expression
from ..model.typing import Typer
from .common import c_string


def wrap_struct(d, cgen, kept):
    """Append room and tag to the definition D (in place)."""
    fields = ' '.join(cgen.visit(f) + ';' for f in d.node.decls)
    room = c_ast.Decl(ROOM, [], [], [], [], c_ast.ArrayDecl(
        c_ast.TypeDecl(ROOM, [], None, c_ast.IdentifierType(['unsigned', 'char'])),
        c_ast.ID(room_expression(d, fields, kept)), []), None, None)
    tag = c_ast.Decl(TAG, [], [], [], [], c_ast.TypeDecl(
        TAG, [], None, c_ast.IdentifierType(['unsigned', 'int'])), None, None)
    # 8-byte alignment of the tag: a later version may add fields of up to
    # that alignment (long, double, pointers) and keep the size and tag offset
    cgen.attrs.decls[id(tag)] = ['__attribute__((aligned(8)))']
    d.node.decls = list(d.node.decls) + [room, tag]


def type_entry(d):
    return '{%s, %s, %uu, sizeof(%s), __builtin_offsetof(%s, %s), 0}' % (
        c_string(d.key), c_string(d.hash), d.tag_value(), d.name, d.name, TAG)


def size_entry(d):
    # the linker (and gcc) may reorder these: each says which type it is
    return '{%uu, sizeof(%s), __builtin_offsetof(%s, %s)}' % (
        d.tag_value(), d.name, d.name, TAG)


# Calls whose size arguments may change with the size of a wrapped struct:
# they allocate, clear, copy or sort whole objects, tag and room included.
SIZE_SAFE = {'malloc', 'calloc', 'realloc', 'reallocarray', 'aligned_alloc',
             'memalign', 'posix_memalign', 'valloc', 'pvalloc', 'alloca',
             '__builtin_alloca', 'memset', '__builtin_memset', 'bzero',
             'explicit_bzero', 'memcpy', '__builtin_memcpy', 'memmove',
             '__builtin_memmove', 'qsort', 'qsort_r', 'bsearch', 'lfind', 'lsearch'}


def sizeof_is_safe(path):
    """Is the sizeof at the end of PATH (ancestors first) only a size given
    to SIZE_SAFE calls, or half of a `sizeof a / sizeof a[0]` ratio?"""
    node = path[-1]
    for parent in reversed(path[:-1]):
        if isinstance(parent, c_ast.BinaryOp) and parent.op == '/' and all(
                isinstance(x, c_ast.UnaryOp) and x.op == 'sizeof'
                for x in (parent.left, parent.right)):
            return True
        if isinstance(parent, c_ast.FuncCall):
            return node is parent.args and isinstance(parent.name, c_ast.ID) \
                and parent.name.name in SIZE_SAFE
        if not (isinstance(parent, (c_ast.Cast, c_ast.ExprList)) or (
                isinstance(parent, c_ast.BinaryOp) and parent.op in ('*', '+'))):
            return False
        node = parent
    return False


class Wrap:
    def __init__(self, ctx):
        self.ctx = ctx
        self.by_node = {id(d.node): d for d in ctx.model.structs if d.wrapped}
        self.typer = None

    def sizeof(self, rewriter, node):
        """Refuse a sizeof whose value the program could observe when it
        covers a wrapped struct: wrapping makes the struct bigger."""
        if not self.by_node:
            return
        if self.typer is None:
            self.typer = Typer(self.ctx.unit, self.ctx.model.typedefs, rewriter)
        ty = node.expr.type if isinstance(node.expr, c_ast.Typename) \
            else self.typer.type_of(node.expr)
        d = self._wrapped_in(ty, 0)
        if d is None or sizeof_is_safe(rewriter.path):
            return
        raise error_at(node.coord, (
            "the size of %s is observable here, and an updateable build changes it "
            "(it gives %s room to grow and a version tag); write `DSU_FIXED` after "
            "the closing brace of its definition (%s:%d) to keep its layout, and a "
            "patch then cannot change it") % (
                d.name, d.name, d.node.coord.file, d.node.coord.line))

    def _wrapped_in(self, ty, depth):
        """The wrapped struct that TY holds by value, or None."""
        if ty is None or depth > 20:
            return None
        ty = self.typer.resolve(ty)
        if isinstance(ty, c_ast.ArrayDecl):
            return self._wrapped_in(ty.type, depth + 1)
        agg = self.typer.aggregate(ty)
        if agg is None:
            return None
        if id(agg) in self.by_node:
            return self.by_node[id(agg)]
        for f in agg.decls or []:
            d = self._wrapped_in(f.type, depth + 1)
            if d is not None:
                return d
        return None

    def toplevel(self, ext, ent):
        node = ext.type if isinstance(ext, (c_ast.Typedef, c_ast.Decl)) else None
        while isinstance(node, (c_ast.PtrDecl, c_ast.ArrayDecl, c_ast.TypeDecl)):
            node = node.type
        d = self.by_node.get(id(node))
        if d is not None:
            wrap_struct(d, self.ctx.cgen, self.ctx.layouts.get(d.key))

    def trailer(self):
        wrapped = [d for d in self.ctx.model.structs if d.wrapped]
        for d in wrapped:
            self.ctx.types.append(type_entry(d))
            self.ctx.sizes.append(size_entry(d))
