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

A `const` object that holds a wrapped struct is defined without `const`:
a patch that changes the struct converts it in place, which read-only
memory would not allow (the program itself still cannot write it: its
code was type-checked with the `const`).
"""

from pycparser import c_ast

from ..codegen.records import record
from ..frontend.errors import error_at
from ..model.structs import ROOM, TAG, room_expression
from ..model.typing import Typer
from .binder import Rewriter
from .common import c_string


def wrapped_in(typer, ty, wrapped_of, depth=0):
    """The wrapped struct (WRAPPED_OF(struct node) -> StructDef or None)
    that type TY holds by value, or None."""
    if ty is None or depth > 20:
        return None
    ty = typer.resolve(ty)
    if isinstance(ty, c_ast.ArrayDecl):
        return wrapped_in(typer, ty.type, wrapped_of, depth + 1)
    agg = typer.aggregate(ty)
    if agg is None:
        return None
    d = wrapped_of(agg)
    if d is not None:
        return d
    for f in agg.decls or []:
        d = wrapped_in(typer, f.type, wrapped_of, depth + 1)
        if d is not None:
            return d
    return None


def make_writable(ty):
    """Drop `const` from the object of declared type TY, down its arrays
    (not behind a pointer: what it points to is another object)."""
    node = ty
    while isinstance(node, (c_ast.ArrayDecl, c_ast.TypeDecl)):
        if isinstance(node, c_ast.TypeDecl):
            node.quals = [q for q in node.quals or [] if q != 'const']
        node = node.type


def stamp_tags(init, ty, typer, wrapped_of):
    """Give the wrapped structs that initialiser INIT (of type TY) makes
    their layout's tag: `{..., .__dsu_tag = T}`, for a struct, an array
    of structs, and the structs inside a struct.  Without it an object made in a newer layout would
    be taken for one in the program's first layout."""
    if not isinstance(init, c_ast.InitList):
        return
    ty = typer.resolve(ty)
    if isinstance(ty, c_ast.ArrayDecl):
        for e in init.exprs:
            stamp_tags(e.expr if isinstance(e, c_ast.NamedInitializer) else e,
                       ty.type, typer, wrapped_of)
        return
    agg = typer.aggregate(ty)
    members = [f for f in (agg.decls or []) if f.name not in (ROOM, TAG) and
               not (f.name is None and f.bitsize)] if agg is not None else []
    pos = -1
    for e in init.exprs:       # members that are structs (braces are all there)
        if isinstance(e, c_ast.NamedInitializer):
            names = [f.name for f in members]
            first = e.name[0]
            if len(e.name) != 1 or not isinstance(first, c_ast.ID) or \
                    first.name not in names:
                continue
            pos, value = names.index(first.name), e.expr
        else:
            pos, value = pos + 1, e
        if pos < len(members):
            stamp_tags(value, members[pos].type, typer, wrapped_of)
    d = wrapped_of(agg) if agg is not None else None
    if d is not None:
        init.exprs.append(c_ast.NamedInitializer(
            [c_ast.ID(TAG)], c_ast.Constant('unsigned int', '%uu' % d.tag_value())))


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
    return record('dsu_type', name=c_string(d.key), layout=c_string(d.hash),
                  tag='%uu' % d.tag_value(), size='sizeof(%s)' % d.name,
                  tag_offset='__builtin_offsetof(%s, %s)' % (d.name, TAG))


def size_entry(d):
    # the linker (and gcc) may reorder these: each says which type it is
    return record('dsu_size', tag='%uu' % d.tag_value(), size='sizeof(%s)' % d.name,
                  tag_offset='__builtin_offsetof(%s, %s)' % (d.name, TAG))


# Calls whose size arguments may change with the size of a wrapped struct:
# they allocate, clear, copy or sort whole objects, tag and room included.
SIZE_SAFE = {'malloc', 'calloc', 'realloc', 'reallocarray', 'aligned_alloc',
             'memalign', 'posix_memalign', 'valloc', 'pvalloc', 'alloca',
             '__builtin_alloca', 'memset', '__builtin_memset', 'bzero',
             'explicit_bzero', 'memcpy', '__builtin_memcpy', 'memmove',
             '__builtin_memmove', 'qsort', 'qsort_r', 'bsearch', 'lfind', 'lsearch'}


# Of those, the ones whose pointer arguments must be the objects themselves:
# copying or clearing a wrapped size to or from other memory would overrun it.
OBJECT_ARGS = {'memset': 1, '__builtin_memset': 1, 'bzero': 1, 'explicit_bzero': 1,
               'memcpy': 2, '__builtin_memcpy': 2, 'memmove': 2, '__builtin_memmove': 2,
               'qsort': 1, 'qsort_r': 1}


def sizeof_is_safe(path, holds_wrapped=None):
    """Is the sizeof at the end of PATH (ancestors first) only a size given
    to SIZE_SAFE calls (whose pointer arguments are objects of the wrapped
    type, as HOLDS_WRAPPED tells), or half of a `sizeof a / sizeof a[0]`?"""
    node = path[-1]
    for parent in reversed(path[:-1]):
        if isinstance(parent, c_ast.BinaryOp) and parent.op == '/' and all(
                isinstance(x, c_ast.UnaryOp) and x.op == 'sizeof'
                for x in (parent.left, parent.right)):
            return True
        if isinstance(parent, c_ast.FuncCall):
            if not (node is parent.args and isinstance(parent.name, c_ast.ID)
                    and parent.name.name in SIZE_SAFE):
                return False
            n = OBJECT_ARGS.get(parent.name.name, 0)
            args = parent.args.exprs if parent.args else []
            return holds_wrapped is None or all(
                holds_wrapped(a) for a in args[:n])
        if not (isinstance(parent, (c_ast.Cast, c_ast.ExprList)) or (
                isinstance(parent, c_ast.BinaryOp) and parent.op in ('*', '+'))):
            return False
        node = parent
    return False


def _is_void_pointer(typer, ty):
    ty = typer.resolve(ty)
    target = typer.resolve(ty.type) if isinstance(ty, c_ast.PtrDecl) else None
    return isinstance(target, c_ast.TypeDecl) and isinstance(
        target.type, c_ast.IdentifierType) and target.type.names == ['void']


class Wrap:
    def __init__(self, ctx):
        self.ctx = ctx
        self.by_node = {id(d.node): d for d in ctx.model.structs if d.wrapped}
        self.done = set()
        self.typer = None

    def sizeof(self, rewriter, node):
        """Refuse a sizeof whose value the program could observe when it
        covers a wrapped struct: wrapping makes the struct bigger."""
        if not self.by_node:
            return
        self.typer = rewriter.typer
        ty = node.expr.type if isinstance(node.expr, c_ast.Typename) \
            else self.typer.type_of(node.expr)
        d = self._wrapped_in(ty, 0)
        if d is None or sizeof_is_safe(rewriter.path, self._points_to_wrapped):
            return
        raise error_at(node.coord, (
            "the size of %s is observable here, and an updateable build changes it "
            "(it gives %s room to grow and a version tag); write `DSU_FIXED` after "
            "the closing brace of its definition (%s:%d) to keep its layout, and a "
            "patch then cannot change it") % (
                d.name, d.name, d.node.coord.file, d.node.coord.line))

    def _points_to_wrapped(self, expr):
        """Does EXPR (casts to void * looked through) point to memory
        that holds a wrapped struct?"""
        while isinstance(expr, c_ast.Cast):
            expr = expr.expr
        return self._wrapped_in(self.typer.pointee(self.typer.type_of(expr)), 0) is not None

    def conversion(self, rewriter, target, source, coord):
        """Refuse making memory that holds no wrapped struct T look like a T:
        `(struct T *)buf`, or `struct T *p = (void *)&other`.  Wrapping gives
        T room and a tag that such memory does not have."""
        if not self.by_node:
            return
        self.typer = rewriter.typer
        d = self._wrapped_in(self.typer.pointee(target), 0)
        if d is None:
            return
        inner = source
        through_void = False
        while isinstance(inner, c_ast.Cast):
            through_void = through_void or _is_void_pointer(self.typer, inner.to_type.type)
            inner = inner.expr
        src = self.typer.resolve(self.typer.type_of(inner))
        if src is None or not isinstance(src, (c_ast.PtrDecl, c_ast.ArrayDecl)):
            return
        pointee = self.typer.pointee(src)
        if _is_void_pointer(self.typer, src) or self._wrapped_in(pointee, 0) is not None:
            return
        if isinstance(source, c_ast.Cast) or through_void:
            raise error_at(coord, (
                "memory that is not a %s is used as one here; an updateable build "
                "gives %s room to grow and a version tag, which that memory does not "
                "have.  Write `DSU_FIXED` after the closing brace of its definition "
                "(%s:%d) to keep its layout") % (d.name, d.name, d.node.coord.file,
                                                 d.node.coord.line))

    def _wrapped_in(self, ty, depth):
        """The wrapped struct that TY holds by value, or None."""
        return wrapped_in(self.typer, ty, lambda agg: self.by_node.get(id(agg)), depth)

    def toplevel(self, ext, ent):
        if self.by_node:
            if self.typer is None:
                self.typer = Typer(self.ctx.unit, self.ctx.model.typedefs, Rewriter())
            for node in [ext] + self.ctx.before:      # with hoisted local statics
                if isinstance(node, c_ast.Decl) and node.name and \
                        not isinstance(node.type, c_ast.FuncDecl) and \
                        self._wrapped_in(node.type, 0) is not None:
                    make_writable(node.type)
        node = ext.type if isinstance(ext, (c_ast.Typedef, c_ast.Decl)) else None
        while isinstance(node, (c_ast.PtrDecl, c_ast.ArrayDecl, c_ast.TypeDecl)):
            node = node.type
        d = self.by_node.get(id(node))
        if d is not None and id(node) not in self.done:     # `typedef struct {..} a, *b;`
            self.done.add(id(node))
            wrap_struct(d, self.ctx.cgen, self.ctx.layouts.get(d.key))

    def trailer(self):
        wrapped = [d for d in self.ctx.model.structs if d.wrapped]
        for d in wrapped:
            self.ctx.types.append(type_entry(d))
            self.ctx.sizes.append(size_entry(d))
