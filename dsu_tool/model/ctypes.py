"""Canonical spellings of C types, for comparing versions.

Two declarations have the same canonical type when a C compiler would
treat them as the same type: typedefs are expanded, specifier order and
redundant `int`/`signed` are normalised, parameter names and top-level
parameter qualifiers are dropped, array and function parameters decay.
Struct, union and enum types are spelled by tag; their layouts are
compared separately (model.types), so a changed struct does not change
the identity of every function that takes a pointer to it.
"""

import hashlib

from pycparser import c_ast, c_generator

_GEN = c_generator.CGenerator()

_INTEGER_SPELLING = {
    ('char',): 'char', ('char', 'signed'): 'signed char',
    ('char', 'unsigned'): 'unsigned char',
    ('short',): 'short', ('int', 'short'): 'short',
    ('short', 'signed'): 'short', ('int', 'short', 'signed'): 'short',
    ('short', 'unsigned'): 'unsigned short',
    ('int', 'short', 'unsigned'): 'unsigned short',
    ('int',): 'int', ('signed',): 'int', ('int', 'signed'): 'int',
    ('unsigned',): 'unsigned int', ('int', 'unsigned'): 'unsigned int',
    ('long',): 'long', ('int', 'long'): 'long', ('long', 'signed'): 'long',
    ('int', 'long', 'signed'): 'long',
    ('long', 'unsigned'): 'unsigned long',
    ('int', 'long', 'unsigned'): 'unsigned long',
    ('long', 'long'): 'long long', ('int', 'long', 'long'): 'long long',
    ('long', 'long', 'signed'): 'long long',
    ('int', 'long', 'long', 'signed'): 'long long',
    ('long', 'long', 'unsigned'): 'unsigned long long',
    ('int', 'long', 'long', 'unsigned'): 'unsigned long long',
    ('double', 'long'): 'long double',
}


def type_hash(text):
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def expr_text(node):
    return _GEN.visit(node) if node is not None else ''


class Canon:
    """Canonical type strings for one translation unit's typedefs."""

    def __init__(self, typedefs):
        self.typedefs = typedefs      # name -> type node

    def of(self, node, quals=()):
        t = type(node)
        if t is c_ast.Decl or t is c_ast.Typename:
            return self.of(node.type)
        if t is c_ast.TypeDecl:
            return self._base(node.type, node.quals)
        if t is c_ast.PtrDecl:
            return self.of(node.type) + ' *' + _quals(node.quals)
        if t is c_ast.ArrayDecl:
            dim = expr_text(node.dim) if node.dim is not None else ''
            return self.of(node.type) + '[%s]' % dim
        if t is c_ast.FuncDecl:
            return '%s(%s)' % (self.of(node.type), self.params(node.args))
        return expr_text(node)

    def _base(self, spec, quals):
        q = _quals(quals)
        prefix = q + ' ' if q else ''
        if isinstance(spec, c_ast.IdentifierType):
            names = spec.names
            if len(names) == 1 and names[0] in self.typedefs:
                inner = self.of(self.typedefs[names[0]])
                return (prefix + inner) if prefix else inner
            key = tuple(sorted(names))
            return prefix + _INTEGER_SPELLING.get(key, ' '.join(names))
        if isinstance(spec, (c_ast.Struct, c_ast.Union)):
            kw = 'struct' if isinstance(spec, c_ast.Struct) else 'union'
            if spec.name:
                return prefix + '%s %s' % (kw, spec.name)
            fields = ';'.join(self.of(d) + ' ' + (d.name or '')
                              for d in spec.decls or [])
            return prefix + '%s {%s}' % (kw, fields)
        if isinstance(spec, c_ast.Enum):
            return prefix + ('enum %s' % spec.name if spec.name else 'int')
        return prefix + expr_text(spec)

    def params(self, args):
        if args is None:
            return '?'                    # unprototyped: f()
        out = []
        for p in args.params:
            if isinstance(p, c_ast.EllipsisParam):
                out.append('...')
                continue
            if isinstance(p, c_ast.ID):   # K&R identifier list
                out.append('int')
                continue
            text = self.of(p.type if isinstance(p, c_ast.Decl) else p)
            if text == 'void' and len(args.params) == 1:
                return ''
            out.append(self.param_decay(p, text))
        return ','.join(out)

    def param_decay(self, p, text):
        """A parameter's type as the function's type sees it: arrays and
        functions decay to pointers, and its own top-level qualifiers
        (`int *const p`, `const int n`) do not count."""
        ty = p.type
        while isinstance(ty, c_ast.TypeDecl) and isinstance(ty.type, c_ast.IdentifierType) \
                and len(ty.type.names) == 1 and ty.type.names[0] in self.typedefs:
            inner = self.typedefs[ty.type.names[0]]
            if not isinstance(inner, (c_ast.ArrayDecl, c_ast.FuncDecl)):
                break
            ty = inner
        if isinstance(ty, c_ast.ArrayDecl):
            return self.of(ty.type) + ' *'
        if isinstance(ty, c_ast.FuncDecl):
            return self.of(ty) + ' *'
        if isinstance(ty, c_ast.PtrDecl):
            return self.of(ty.type) + ' *'
        if isinstance(ty, c_ast.TypeDecl):
            return self._base(ty.type, [])
        return text


def _quals(quals):
    return ' '.join(sorted(quals))
