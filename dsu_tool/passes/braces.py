"""Braces restored in initialisers of wrapped structs.

C lets an initialiser leave out inner braces: `struct P { int a, b; }`
makes `struct P arr[] = {1, 2, 3, 4}` two elements, and
`struct O { struct P p; int z; } o = {5, 6, 7}` sets o.z to 7.  The
values fill the members in order.  A wrapped struct has more members
(room and tag, passes.wrap), so the same list would fill those instead:
one element, and o.z left 0.  Before wrapping, every initialiser whose
type holds a wrapped struct is rewritten with all its braces, following
C's rules (C11 6.7.9): designators (`.f`, `[i]`, and paths `.a.b`, after
which initialisation goes on with the next member), strings that
initialise character arrays, whole structs given by an expression of
their type, the first member of a union, nested arrays, structs and
unions, anonymous members, and compound literals; for globals, statics
and locals alike.  An initialiser that is already fully braced comes out
as it went in, except that one which gives every member of a wrapped
struct in order is followed by `.__dsu_room = {0}`: the room is zero
either way, but a purely positional list that leaves the room out is what
gcc's -Wmissing-field-initializers (-Wextra) reports, and a designator
tells it the rest is left out on purpose.
"""

from pycparser import c_ast

from ..frontend.errors import error_at
from ..model.structs import ROOM, TAG
from ..model.typing import Typer
from .binder import Rewriter
from .wrap import wrapped_in

_UNBOUNDED = -1        # `T a[] = {...}`: the initialiser gives the size
_UNKNOWN = -2          # a size that is not a constant we can evaluate
_EMPTY = '__dsu_empty'  # the front end's spelling of `{}`


class _Agg:
    """An aggregate being initialised: what each member or element gets
    (an expression, or an _Agg for a sub-aggregate)."""

    def __init__(self, kind, members, count, coord, wrapped=False):
        self.kind = kind          # 'struct', 'union' or 'array'
        self.wrapped = wrapped    # a wrapped struct (room and tag follow its members)
        self.members = members    # [(name, type)] of a struct or union; [elem type]
        self.count = count        # members, elements, _UNBOUNDED or _UNKNOWN
        self.coord = coord
        self.items = {}

    def type_at(self, idx):
        return self.members[0][1] if self.kind == 'array' else self.members[idx][1]

    def has(self, idx, coord, braced=False):
        """Is there a member or element IDX?  Within its own braces an
        array of unknown size takes what they hold; where its braces are
        left out, its size tells where it ends."""
        if self.count == _UNKNOWN:
            if braced:
                return True
            raise error_at(coord, "cannot restore the braces this initialiser leaves "
                           "out: an array size is not a constant dsu can evaluate; "
                           "write the braces")
        return self.count == _UNBOUNDED or idx < self.count

    def set(self, idx, value):
        if self.kind == 'union':
            self.items.clear()        # a union holds the member last initialised
        self.items[idx] = value


class Braces(Rewriter):
    """Walks the program's own code with its scopes (for the types of
    local names) and rewrites the initialisers that need it."""

    def __init__(self, unit, typedefs, wrapped_of):
        super().__init__()
        self.typer = Typer(unit, typedefs, self)
        self.wrapped_of = wrapped_of              # struct node -> StructDef or None
        self.enums = _enum_values(unit)

    def holds_wrapped(self, ty):
        return wrapped_in(self.typer, ty, self.wrapped_of) is not None

    def r_Decl(self, node):
        if self.function is not None:
            self._local_tags(node.type)
        if isinstance(node.init, c_ast.InitList) and self.holds_wrapped(node.type):
            node.init = self.restore(node.type, node.init)
        return super().r_Decl(node)

    def r_CompoundLiteral(self, node):
        if isinstance(node.init, c_ast.InitList) and self.holds_wrapped(node.type.type):
            node.init = self.restore(node.type.type, node.init)
        self.rewrite_children(node)
        return node

    def _local_tags(self, ty):
        """A struct defined in a function may hold a wrapped one: the
        typer finds it by tag from here on."""
        while isinstance(ty, (c_ast.PtrDecl, c_ast.ArrayDecl, c_ast.TypeDecl)):
            ty = ty.type
        if isinstance(ty, (c_ast.Struct, c_ast.Union)) and ty.name and ty.decls is not None:
            self.typer.tags[(type(ty), ty.name)] = ty

    def restore(self, ty, init):
        agg = self.aggregate(ty, init.coord)
        if agg is None or _is_empty(init) or self.is_string_init(ty, init):
            return init
        agg.coord = _coord(init)
        return self.emit(self.fill(agg, init))

    # -- types ------------------------------------------------------------------

    def aggregate(self, ty, coord):
        """An empty _Agg for type TY, or None for a scalar."""
        ty = self.typer.resolve(ty)
        if isinstance(ty, c_ast.ArrayDecl):
            if ty.dim is None:
                count = _UNBOUNDED
            else:
                n = self.constant(ty.dim)
                count = _UNKNOWN if n is None else n
            return _Agg('array', [(None, ty.type)], count, coord)
        node = ty if isinstance(ty, (c_ast.Struct, c_ast.Union)) else self.typer.aggregate(ty)
        if node is None:
            return None
        if node.decls is None:
            node = self.typer.tags.get((type(node), node.name), node)
        members = [(d.name, d.type) for d in node.decls or []
                   if d.name not in (ROOM, TAG) and not (d.name is None and d.bitsize)]
        kind = 'union' if isinstance(node, c_ast.Union) else 'struct'
        wrapped = kind == 'struct' and self.wrapped_of(node) is not None
        return _Agg(kind, members, len(members), coord, wrapped)

    def whole(self, ty, value):
        """Does expression VALUE initialise a whole object of aggregate
        type TY (a struct of that type, a string for a character array)?"""
        ty = self.typer.resolve(ty)
        if isinstance(ty, c_ast.ArrayDecl):
            return _is_string(value) and self._of_characters(ty)
        mine = self.typer.aggregate(ty) if not isinstance(ty, (c_ast.Struct, c_ast.Union)) \
            else ty
        theirs = self.typer.aggregate(self.typer.type_of(value))
        return mine is not None and theirs is not None and (
            theirs is mine or (type(theirs) is type(mine) and mine.name is not None
                               and theirs.name == mine.name))

    def is_string_init(self, ty, init):
        """`char s[] = {"abc"}`: a string in braces for a character array."""
        ty = self.typer.resolve(ty)
        return isinstance(ty, c_ast.ArrayDecl) and self._of_characters(ty) and \
            len(init.exprs) == 1 and _is_string(init.exprs[0])

    def _of_characters(self, array):
        """Is ARRAY one of integers (characters, wide characters), which a
        string initialises, and not one of pointers?"""
        elem = self.typer.resolve(array.type)
        return isinstance(elem, c_ast.TypeDecl) and isinstance(elem.type, c_ast.IdentifierType)

    # -- C11 6.7.9: the current object and its next subobject ---------------------

    def fill(self, agg, init):
        stack = [[agg, -1, True]]   # the current object's path: [aggregate,
        #                             index, within braces of its own]
        for item in init.exprs:
            if isinstance(item, c_ast.NamedInitializer):
                del stack[1:]
                cur = agg
                for k, d in enumerate(item.name):
                    path = self.designate(cur, d, item)
                    for j, idx in enumerate(path):
                        stack[-1][1] = idx
                        if k < len(item.name) - 1 or j < len(path) - 1:
                            cur = self.child(cur, idx, item)
                            stack.append([cur, -1, False])
                self.place(stack, item.expr)
            elif self.advance(stack, item):
                self.place(stack, item)
        return agg

    def advance(self, stack, item):
        """Move to the next subobject; False past the end (an excess
        initialiser, which gcc drops with a warning)."""
        while True:
            agg, idx, braced = stack[-1]
            if not (agg.kind == 'union' and idx >= 0) and agg.has(idx + 1, _coord(item),
                                                                  braced):
                stack[-1][1] = idx + 1
                return True
            if len(stack) == 1:
                return False
            stack.pop()

    def place(self, stack, value):
        agg, idx, _ = stack[-1]
        while True:
            ty = agg.type_at(idx)
            sub = self.aggregate(ty, _coord(value))
            if isinstance(value, c_ast.InitList):
                if sub is None or _is_empty(value) or self.is_string_init(ty, value):
                    agg.set(idx, value)
                else:
                    sub.coord = _coord(value)
                    agg.set(idx, self.fill(sub, value))
                return
            if sub is None or self.whole(ty, value):
                agg.set(idx, value)
                return
            # the braces of this subaggregate are left out: it takes values
            # from the list around it, from its first member on
            agg = self.child(agg, idx, value)
            if not agg.has(0, _coord(value)):
                raise error_at(_coord(value), "cannot restore the braces this "
                               "initialiser leaves out (an empty aggregate); write them")
            stack.append([agg, 0, False])
            idx = 0

    def child(self, agg, idx, item):
        """The _Agg at IDX of AGG, made on first use."""
        got = agg.items.get(idx)
        if isinstance(got, _Agg):
            if agg.kind == 'union':
                agg.set(idx, got)
            return got
        if got is not None:
            raise error_at(_coord(item), "cannot restore the braces of this initialiser: "
                           "it sets part of a member it also sets whole; write the "
                           "member's initialiser in one place")
        sub = self.aggregate(agg.type_at(idx), _coord(item))
        agg.set(idx, sub)
        return sub

    def designate(self, agg, d, item):
        """The indices that designator D names in AGG: one, or a path
        through anonymous members."""
        if agg.kind == 'array':
            n = self.constant(d.expr) if isinstance(d, c_ast.ArrayDesignator) else None
            if n is None or n < 0:
                raise error_at(_coord(item), "cannot restore the braces of this "
                               "initialiser: an index designator is not a constant "
                               "dsu can evaluate; write the braces")
            return [n]
        path = self._member_path(agg, d.name if isinstance(d, c_ast.ID) else None)
        if path is None:
            raise error_at(_coord(item), "cannot restore the braces of this initialiser: "
                           "no member '%s'" % getattr(d, 'name', '?'))
        return path

    def _member_path(self, agg, name):
        for i, (member, ty) in enumerate(agg.members):
            if member == name:
                return [i]
        for i, (member, ty) in enumerate(agg.members):
            if member is None:
                inner = self.aggregate(ty, None)
                rest = self._member_path(inner, name) if inner is not None and \
                    inner.kind != 'array' else None
                if rest is not None:
                    return [i] + rest
        return None

    # -- out ----------------------------------------------------------------------

    def emit(self, agg):
        exprs, prev, designated = [], -1, False
        for idx in sorted(agg.items):
            value = agg.items[idx]
            if isinstance(value, _Agg):
                value = self.emit(value)
            if idx != prev + 1 or (agg.kind == 'union' and idx != 0):
                if agg.kind == 'array':
                    where = c_ast.ArrayDesignator(c_ast.Constant('int', str(idx)))
                else:
                    name = agg.members[idx][0]
                    if name is None:
                        raise error_at(agg.coord, "cannot restore the braces of this "
                                       "initialiser: it skips to an anonymous member; "
                                       "write the braces")
                    where = c_ast.ID(name)
                value = c_ast.NamedInitializer([where], value)
                designated = True
            exprs.append(value)
            prev = idx
        if agg.wrapped and not designated and len(exprs) == agg.count > 0:
            exprs.append(c_ast.NamedInitializer([c_ast.ID(ROOM)], c_ast.InitList(
                [c_ast.Constant('int', '0')], agg.coord)))
        if not exprs:
            exprs = [c_ast.ID(_EMPTY)]
        return c_ast.InitList(exprs, agg.coord)

    # -- integer constants ----------------------------------------------------------

    def constant(self, e):
        return _constant(e, self.enums)


def _coord(node):
    """Where NODE is: initialiser lists and designations carry no position
    of their own in the parser's tree; their first value does."""
    while node is not None and node.coord is None:
        if isinstance(node, c_ast.NamedInitializer):
            node = node.expr
        elif isinstance(node, c_ast.InitList) and node.exprs:
            node = node.exprs[0]
        else:
            break
    return node.coord if node is not None else None


def _is_string(e):
    return isinstance(e, c_ast.Constant) and e.type == 'string'


def _is_empty(init):
    return len(init.exprs) == 1 and isinstance(init.exprs[0], c_ast.ID) and \
        init.exprs[0].name == _EMPTY


def _enum_values(unit):
    """name -> value of every enumerator of the unit whose value is a
    constant we can evaluate."""
    values = {}

    class V(c_ast.NodeVisitor):
        def visit_Enum(self, node):
            if node.values is None:
                return
            nxt = 0
            for e in node.values.enumerators:
                v = _constant(e.value, values) if e.value is not None else nxt
                if v is None:
                    return
                values[e.name] = v
                nxt = v + 1
    V().visit(unit.ast)
    return values


_BINARY = {
    '+': lambda a, b: a + b, '-': lambda a, b: a - b, '*': lambda a, b: a * b,
    '/': lambda a, b: int(a / b) if b else None, '%': lambda a, b: a - b * int(a / b) if b else None,
    '<<': lambda a, b: a << b, '>>': lambda a, b: a >> b,
    '&': lambda a, b: a & b, '|': lambda a, b: a | b, '^': lambda a, b: a ^ b,
    '<': lambda a, b: int(a < b), '>': lambda a, b: int(a > b),
    '<=': lambda a, b: int(a <= b), '>=': lambda a, b: int(a >= b),
    '==': lambda a, b: int(a == b), '!=': lambda a, b: int(a != b),
    '&&': lambda a, b: int(bool(a and b)), '||': lambda a, b: int(bool(a or b)),
}


def _constant(e, enums):
    """The value of integer constant expression E, or None."""
    if isinstance(e, c_ast.Constant):
        if e.type == 'char':
            body = e.value[1:-1]
            if len(body) == 1:
                return ord(body)
            simple = {'\\n': 10, '\\t': 9, '\\0': 0, '\\\\': 92, "\\'": 39, '\\r': 13}
            return simple.get(body)
        if e.type == 'string' or 'float' in e.type or 'double' in e.type:
            return None
        text = e.value.rstrip('uUlL')
        try:
            if text.lower().startswith('0x'):
                return int(text, 16)
            if text.lower().startswith('0b'):
                return int(text, 2)
            if len(text) > 1 and text.startswith('0'):
                return int(text, 8)
            return int(text)
        except ValueError:
            return None
    if isinstance(e, c_ast.ID):
        return enums.get(e.name)
    if isinstance(e, c_ast.Cast):
        return _constant(e.expr, enums)
    if isinstance(e, c_ast.UnaryOp):
        v = _constant(e.expr, enums) if e.op != 'sizeof' else None
        if v is None:
            return None
        return {'-': -v, '+': v, '~': ~v, '!': int(not v)}.get(e.op)
    if isinstance(e, c_ast.BinaryOp) and e.op in _BINARY:
        a, b = _constant(e.left, enums), _constant(e.right, enums)
        return None if a is None or b is None else _BINARY[e.op](a, b)
    if isinstance(e, c_ast.TernaryOp):
        c = _constant(e.cond, enums)
        return None if c is None else _constant(e.iftrue if c else e.iffalse, enums)
    return None


def restore_braces(unit, typedefs, wrapped_of):
    """Rewrite, in the program's own code of UNIT, every initialiser whose
    type holds a wrapped struct (WRAPPED_OF(struct node) -> StructDef or
    None) with all its braces."""
    walker = Braces(unit, typedefs, wrapped_of)
    for ext in unit.ast.ext:
        if unit.is_project(ext):
            walker.rewrite(ext)
