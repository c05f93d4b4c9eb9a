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


class Wrap:
    def __init__(self, ctx):
        self.ctx = ctx
        self.by_node = {id(d.node): d for d in ctx.model.structs if d.wrapped}
        self.done = set()
        self.typer = None

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
