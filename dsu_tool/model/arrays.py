"""The length an initialiser gives an array declared without one.

`T table[] = {...}` has a complete type only through its initialiser.
Versions compare variables by type, and patch code must declare them
with complete types (`sizeof table / sizeof table[0]` must compile), so
the model spells such a type with its length: `struct opt[5]`.  The
length follows C's rules: the highest index reached, where designators
`[k] =` move the index and, with brace elision, one element takes as
many scalars as it has; a string gives a char array its characters and
the terminating 0.

What cannot be worked out here (a designator that is not an integer
constant expression of literals and enumerators, brace elision into an
element with a union or flexible parts) gives None; the type then keeps
`[]`, as it is written.
"""

import ast as _pyast
import copy
import re

from pycparser import c_ast

_SUFFIX = re.compile(r'[uUlL]+$')
_ESCAPE = re.compile(r'\\(x[0-9a-fA-F]+|[0-7]{1,3}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)')


def string_length(literal):
    """Elements of the array a string literal (as pycparser spells it:
    prefix, quotes, escapes) initialises, the terminating 0 included.
    Narrow strings count bytes (the source is read as latin-1, one
    character per byte); wide ones characters (a u"" string beyond the
    basic plane would count short)."""
    prefix, _, body = literal.partition('"')
    return len(_ESCAPE.sub('_', body[:-1])) + 1


class Lengths:
    """Implied array lengths within one unit (its typedefs, structs and
    enumerators)."""

    def __init__(self, file_ast, typedefs):
        self.typedefs = typedefs
        self.structs = {}           # tag -> field declarations
        self.enums = {}             # enumerator -> value
        for node in _walk([e for e in file_ast.ext if not isinstance(e, c_ast.FuncDef)]):
            if isinstance(node, c_ast.Struct) and node.name and node.decls is not None:
                self.structs.setdefault(node.name, node.decls)
            elif isinstance(node, c_ast.Enum) and node.values is not None:
                value = -1
                for e in node.values.enumerators:
                    value = self.value(e.value) if e.value is not None else (
                        value + 1 if value is not None else None)
                    self.enums[e.name] = value

    # -- constant expressions ------------------------------------------------

    def value(self, node):
        """The integer value of constant expression NODE, or None."""
        if isinstance(node, c_ast.Constant) and node.type in (
                'int', 'unsigned int', 'long int', 'unsigned long int', 'long long int',
                'unsigned long long int', 'long', 'unsigned long'):
            try:
                return int(_py_int(_SUFFIX.sub('', node.value)), 0)
            except ValueError:
                return None
        if isinstance(node, c_ast.Constant) and node.type == 'char':
            body = node.value[1:-1]
            return ord(body) if len(body) == 1 else _char_escape(body)
        if isinstance(node, c_ast.ID):
            return self.enums.get(node.name)
        if isinstance(node, c_ast.UnaryOp) and node.op in ('-', '+', '~', '!'):
            v = self.value(node.expr)
            return None if v is None else {'-': -v, '+': v, '~': ~v, '!': int(not v)}[node.op]
        if isinstance(node, c_ast.Cast):
            return self.value(node.expr)
        if isinstance(node, c_ast.BinaryOp):
            a, b = self.value(node.left), self.value(node.right)
            if a is None or b is None:
                return None
            return _binary(node.op, a, b)
        if isinstance(node, c_ast.TernaryOp):
            c = self.value(node.cond)
            return None if c is None else self.value(node.iftrue if c else node.iffalse)
        return None

    # -- initialisers ------------------------------------------------------------

    def resolve(self, ty):
        while isinstance(ty, c_ast.TypeDecl) and isinstance(ty.type, c_ast.IdentifierType) \
                and len(ty.type.names) == 1 and ty.type.names[0] in self.typedefs:
            ty = self.typedefs[ty.type.names[0]]
        return ty

    def scalars(self, ty):
        """How many scalars one object of TY takes under brace elision."""
        ty = self.resolve(ty)
        if isinstance(ty, c_ast.ArrayDecl):
            if _is_char(self.resolve(ty.type)):
                return None           # a string may fill it whole: not counted here
            n = self.value(ty.dim) if ty.dim is not None else None
            inner = self.scalars(ty.type)
            return None if n is None or inner is None else n * inner
        if isinstance(ty, c_ast.TypeDecl) and isinstance(ty.type, c_ast.Struct):
            decls = ty.type.decls if ty.type.decls is not None else \
                self.structs.get(ty.type.name)
            if decls is None:
                return None
            total = 0
            for d in decls:
                if d.name is None and d.bitsize is not None:
                    continue                  # unnamed bit-fields take nothing
                n = self.scalars(d.type)
                if n is None:
                    return None
                total += n
            return total
        if isinstance(ty, c_ast.TypeDecl) and isinstance(ty.type, c_ast.Union):
            return None
        return 1

    def length(self, ty, init):
        """The length initialiser INIT gives array type TY (an ArrayDecl
        whose dim is None), or None."""
        elem = self.resolve(ty.type)
        if isinstance(init, c_ast.Constant) and init.type == 'string':
            return string_length(init.value)
        if not isinstance(init, c_ast.InitList):
            return None
        exprs = init.exprs
        if len(exprs) == 1 and _is_string(exprs[0]) and _is_char(elem):
            return string_length(exprs[0].value)
        index = top = 0
        loose = 0                     # scalars of the element being filled by elision
        per = None
        for e in exprs:
            if isinstance(e, c_ast.NamedInitializer):
                if loose:
                    index, loose = index + 1, 0
                first = e.name[0]
                if not isinstance(first, c_ast.ArrayDesignator):
                    return None
                k = self.value(first.expr)
                if k is None or k < 0:
                    return None
                index = k + 1
                top = max(top, index)
                continue
            if loose and isinstance(e, c_ast.InitList):
                return None           # braces inside an elided element
            if isinstance(e, c_ast.InitList) or (_is_string(e) and _is_char_array(elem, self)) \
                    or not _aggregate(elem):
                if loose:
                    index, loose = index + 1, 0
                index += 1
                top = max(top, index)
                continue
            # a scalar where an aggregate element starts: brace elision
            if per is None:
                per = self.scalars(elem)
                if not per:
                    return None
            loose += 1
            top = max(top, index + 1)
            if loose == per:
                index, loose = index + 1, 0
        return top


def _walk(nodes):
    todo = list(nodes)
    while todo:
        node = todo.pop()
        yield node
        todo.extend(child for _, child in node.children())


def _is_string(e):
    return isinstance(e, c_ast.Constant) and e.type == 'string'


def _is_char(ty):
    return isinstance(ty, c_ast.TypeDecl) and isinstance(ty.type, c_ast.IdentifierType) \
        and 'char' in ty.type.names


def _is_char_array(ty, lengths):
    return isinstance(ty, c_ast.ArrayDecl) and _is_char(lengths.resolve(ty.type))


def _aggregate(ty):
    return isinstance(ty, c_ast.ArrayDecl) or (
        isinstance(ty, c_ast.TypeDecl) and isinstance(ty.type, (c_ast.Struct, c_ast.Union)))


def _py_int(text):
    # C octal 017 -> Python 0o17
    return '0o' + text[1:] if re.match(r'^0[0-7]+$', text) else text


def _char_escape(body):
    try:
        return ord(_pyast.literal_eval("'%s'" % body))
    except (ValueError, SyntaxError, TypeError):
        return None


def _binary(op, a, b):
    try:
        return {'+': lambda: a + b, '-': lambda: a - b, '*': lambda: a * b,
                '/': lambda: int(a / b), '%': lambda: a - b * int(a / b),
                '<<': lambda: a << b, '>>': lambda: a >> b, '&': lambda: a & b,
                '|': lambda: a | b, '^': lambda: a ^ b, '<': lambda: int(a < b),
                '>': lambda: int(a > b), '<=': lambda: int(a <= b),
                '>=': lambda: int(a >= b), '==': lambda: int(a == b),
                '!=': lambda: int(a != b), '&&': lambda: int(bool(a and b)),
                '||': lambda: int(bool(a or b))}[op]()
    except (KeyError, ZeroDivisionError, ValueError):
        return None


def with_length(ty, n):
    """A copy of array type TY (dim None) with length N."""
    out = copy.copy(ty)
    out.dim = c_ast.Constant('int', str(n))
    return out
