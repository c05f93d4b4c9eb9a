"""check: uses of a changed struct that in-place conversion cannot honour.

Converting an object in place is right as long as the program reaches
the object only as that struct.  For each wrapped struct a patch changes,
the new version's code is searched for what breaks that:

  * a union that holds the struct by value: its other members see the
    bytes change under them;
  * a cast to a pointer to the struct from anything but `void *` or the
    struct itself (a buffer read from a socket, another struct): the
    memory is not an object of the struct, it has no room and no tag;
  * the address of one of its fields kept beyond the statement (assigned
    to a global, a static, a struct field): after the conversion the field
    may live elsewhere.

Each is refused with its file and line and what to do instead.
Copies, arrays, nesting, memcpy/memset of whole objects and passing
pointers around are fine: the tag travels with the object.
"""

from pycparser import c_ast

from ..frontend.errors import DsuError, error_at
from ..model.tu import UnitModel
from ..model.typing import Typer
from ..passes.binder import Rewriter


class _Uses(Rewriter):
    def __init__(self, unit, changed):
        super().__init__()
        self.unit = unit
        self.changed = changed            # id(struct node) -> TypeChange
        self.typer = Typer(unit.parsed, unit.model.typedefs, self)

    def struct_behind(self, ty):
        """The changed struct a pointer type TY points to, or None."""
        agg = self.typer.aggregate(self.typer.pointee(ty))
        return self.changed.get(id(agg)) if agg is not None else None

    def r_Cast(self, node):
        t = self.struct_behind(node.to_type.type)
        if t is not None:
            src = self.typer.resolve(self.typer.type_of(node.expr))
            target = self.typer.pointee(src) if src is not None else None
            void = isinstance(target, c_ast.TypeDecl) and isinstance(
                target.type, c_ast.IdentifierType) and target.type.names == ['void']
            same = self.struct_behind(src) is t
            if src is not None and not (void or same or _is_null(node.expr)):
                raise error_at(node.coord, (
                    "%s changes in this patch, but this cast makes memory that is "
                    "not a %s look like one; it cannot be converted in place.  "
                    "Copy the fields into a real %s instead") % (t.name, t.name, t.name))
        return super().r_Cast(node)

    def r_Assignment(self, node):
        if isinstance(node.rvalue, c_ast.UnaryOp) and node.rvalue.op == '&' \
                and isinstance(node.rvalue.expr, c_ast.StructRef) \
                and not self._is_local(node.lvalue):
            ref = node.rvalue.expr
            base = self.typer.type_of(ref.name)
            if ref.type == '->':
                base = self.typer.pointee(base)
            agg = self.typer.aggregate(base)
            t = self.changed.get(id(agg)) if agg is not None else None
            if t is not None:
                raise error_at(node.coord, (
                    "%s changes in this patch, but the address of its field '%s' is "
                    "kept here; after the conversion the field may be elsewhere.  "
                    "Keep a pointer to the %s instead") % (t.name, ref.field.name, t.name))
        self.rewrite_children(node)
        return node

    def _is_local(self, lvalue):
        return isinstance(lvalue, c_ast.ID) and self.lookup(lvalue.name) == 'local'


def _is_null(expr):
    return isinstance(expr, c_ast.Constant) and expr.value in ('0', '0L')


def check_type_uses(plan, parsed_units):
    """PARSED_UNITS: unit of B -> its fresh parse (emit.UnitEmitter.parsed)."""
    if not plan.types:
        return
    for u in plan.b.units:
        parsed = parsed_units(u)
        by_name = {t.new.name: t for t in plan.types.values()}
        changed = {}
        for d in u.model.structs:
            if d.name in by_name:
                changed[id(_node_in(parsed, d))] = by_name[d.name]
        _check_unions(parsed, u, by_name)
        # typedefs must lead to this parse's nodes, which CHANGED names
        checker = _Uses(_Parsed(parsed, UnitModel(parsed, u.tu)), changed)
        for ext in parsed.ast.ext:
            if parsed.is_project(ext) and isinstance(ext, c_ast.FuncDef):
                checker.rewrite(ext)


class _Parsed:
    def __init__(self, parsed, model):
        self.parsed, self.model = parsed, model


def _node_in(parsed, d):
    """The definition of D's struct in a fresh parse of the same unit."""
    for ext in parsed.ast.ext:
        node = ext.type if isinstance(ext, (c_ast.Decl, c_ast.Typedef)) else None
        # `typedef struct E {...} *EP;` and `struct E {...} *p;` define struct E too
        while isinstance(node, (c_ast.TypeDecl, c_ast.PtrDecl, c_ast.ArrayDecl)):
            node = node.type
        if isinstance(node, c_ast.Struct) and node.decls is not None and \
                node.coord and d.node.coord and \
                (node.coord.file, node.coord.line) == (d.node.coord.file, d.node.coord.line):
            return node
    return None


def _check_unions(parsed, unit, by_name):
    canon = unit.model.canon

    def visit(node):
        if isinstance(node, c_ast.Union) and node.decls:
            for f in node.decls:
                text = canon.of(f.type).split('[')[0].strip()
                if text in by_name:
                    t = by_name[text]
                    raise DsuError(
                        '%s changes in this patch, but a union holds it by value; '
                        'converting it in place would change what the other members '
                        'of the union read.  Hold a pointer to it in the union '
                        'instead' % t.name, node.coord.file, node.coord.line)
        for _, child in node.children():
            visit(child)
    for ext in parsed.ast.ext:
        if parsed.is_project(ext):
            visit(ext)
