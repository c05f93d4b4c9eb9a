"""C text out of the (rewritten) AST, with #line directives.

Differences from pycparser's generator:
* a `#line` before every top-level declaration and every statement, so
  compiler messages and debuggers point at the user's source;
* the program's own `__attribute__`s, recorded by the front end, are put
  back (type attributes after struct/union/enum, declaration attributes
  after the declarator, function attributes in front);
* builtins that take a type, rewritten for the parser, are spelled back.
"""

import re
from bisect import bisect_left, bisect_right

from pycparser import c_ast, c_generator

from ..frontend.errors import DsuError
from ..frontend.gnu import ASM_CALL
from .literals import c_string

FIXED = '__dsu_fixed__'
EMPTY = '__dsu_empty'     # the front end's spelling of `{}` (frontend.gnu)


class AttributeMap:
    """Attributes of the program's own code, keyed by what they attach to."""

    def __init__(self, attributes, decls, params=(), depths=None):
        """DECLS: every Decl of the program's own code; PARAMS: the ids of
        those that are function parameters; DEPTHS: id -> depth in the AST
        (a struct's members and a function's parameters are deeper than
        the declarators of the declaration around them)."""
        self.params = set(params)
        self.depths = depths or {}
        self.types = {}           # (file, line, col) of a tag or `{` -> [text]
        self.decls = {}           # id(Decl) -> [text]
        self.pragmas = {}         # frontend.parse.Unit.member_pragmas
        self._alive = []          # copies with entries (see copied)
        spans = [a for a in attributes if a.where == 'decl']
        for a in attributes:
            if a.where == 'type':
                self.types.setdefault(a.anchor, []).append(a.text)
        self._attach(spans, decls)

    def _attach(self, spans, decls):
        """Tie each declaration attribute to its declarators: the one whose
        declarator it stands in, or, when it stands among the declaration
        specifiers, every declarator of the declaration.  Declarations are
        indexed by position, so this is O((A + D) log D)."""
        by_file = {}
        for d in decls:
            if d.coord is not None:
                by_file.setdefault(d.coord.file, []).append(
                    ((d.coord.line, d.coord.column or 0), d))
        index = {}
        for file, entries in by_file.items():
            entries.sort(key=lambda e: e[0])
            index[file] = ([e[0] for e in entries], [e[1] for e in entries])

        def between(span, params_too):
            (f1, l1, c1), (f2, l2, c2) = span
            keys, nodes = index.get(f1, ((), ()))
            hi = (l2, c2) if f2 == f1 else (float('inf'), 0)
            found = nodes[bisect_left(keys, (l1, c1)):bisect_right(keys, hi)]
            if not params_too:
                found = [d for d in found if id(d) not in self.params]
            return self._outermost(found)

        for a in spans:
            inside = between(a.anchor, a.in_parens)
            if a.shared and a.declaration is not None and not any(
                    (d.coord.line, d.coord.column or 0) < a.pos[1:] for d in inside):
                inside = between(a.declaration, False)       # all its declarators
                if not inside:
                    raise DsuError("cannot tell which declaration '%s' belongs to"
                                   % a.text, a.file, a.line)
            elif len(inside) != 1:
                raise DsuError(
                    "cannot tell which declaration '%s' belongs to; put it "
                    "right after the declared name" % a.text, a.file, a.line)
            for d in inside:
                self.decls.setdefault(id(d), []).append(a.text)

    def _outermost(self, found):
        if len(found) < 2:
            return found
        top = min(self.depths.get(id(d), 0) for d in found)
        return [d for d in found if self.depths.get(id(d), 0) == top]

    def copied(self, old, new):
        """NEW, a copy of node OLD, has OLD's attributes.  The map keeps
        NEW alive: an entry for a dead node would pass to whatever node
        Python gives its id next."""
        if id(old) in self.decls:
            self.decls[id(new)] = list(self.decls[id(old)])
            self._alive.append(new)

    def for_body(self, decl):
        """The attributes of function declaration DECL that also hold for
        the function's renamed body: all but its symbol's own (an asm
        label, visibility, alias, weak)."""
        return [a for a in self.decls.get(id(decl), [])
                if not _is_label(a) and not _SYMBOL_ATTR.search(a)]

    def for_type(self, node, ours=True):
        """Type attributes of NODE; with ours=False, without dsu's own
        marker (which only the pass reads)."""
        if node.coord is None:
            return []
        key = (node.coord.file, node.coord.line, node.coord.column)
        attrs = self.types.get(key, [])
        return attrs if ours else [a for a in attrs if FIXED not in a]


# Attributes that name a function of the program: `cleanup(f)`, `copy(f)`.
_NAMES_FUNCTION = re.compile(r'\b((?:__)?(?:cleanup|copy)(?:__)?\(\s*)([A-Za-z_$][\w$]*)(\s*\))')


def functions_named(attr):
    """The identifiers that attribute text ATTR names as functions."""
    return [m.group(2) for m in _NAMES_FUNCTION.finditer(attr)]


def rename_functions(attr, rename):
    """ATTR with each function it names replaced by RENAME(name)."""
    return _NAMES_FUNCTION.sub(lambda m: m.group(1) + rename(m.group(2)) + m.group(3), attr)


_SYMBOL_ATTR = re.compile(r'\b(__)?(visibility|alias|weakref|weak|ifunc|symver)(__)?\b')


def _is_label(attr):
    return attr.startswith(('__asm__', '__asm', 'asm'))


class CGen(c_generator.CGenerator):
    def __init__(self, attributes=None, lines=True, asm=None):
        super().__init__()
        self.attrs = attributes
        self.lines = lines
        self.asm = asm or []
        self._last = None

    # -- #line --------------------------------------------------------------

    def line_of(self, node):
        coord = getattr(node, 'coord', None)
        if not self.lines or coord is None or not coord.line or \
                coord.file.startswith('<'):
            return ''
        return '#line %d %s\n' % (coord.line, c_string(coord.file))

    def toplevel(self, node):
        text = self.visit(node)
        if isinstance(node, c_ast.Pragma):
            text += '\n'
        elif not isinstance(node, c_ast.FuncDef):
            text += ';\n'
        return self.line_of(node) + text

    def _generate_stmt(self, n, add_indent=False):
        text = super()._generate_stmt(n, add_indent)
        if isinstance(n, c_ast.Compound):
            return text
        return self.line_of(n) + text

    # -- attributes -------------------------------------------------------------

    def _generate_type(self, n, modifiers=None, emit_declname=True, emit_base_type=True):
        s = super()._generate_type(n, modifiers, emit_declname, emit_base_type)
        if isinstance(n, c_ast.Typename) and self.attrs is not None and \
                self.attrs.decls.get(id(n)):
            # a type name's attributes go first: `(__attribute__((...)) float)`
            s = ' '.join(self.attrs.decls[id(n)]) + ' ' + s
        return s

    def visit_Typename(self, n):
        s = super().visit_Typename(n)
        if self.attrs is not None and self.attrs.decls.get(id(n)):
            s = ' '.join(self.attrs.decls[id(n)]) + ' ' + s
        return s

    def _generate_struct_union_enum(self, n, name):
        pragmas = self.attrs.pragmas.get(id(n)) if self.attrs is not None else None
        if pragmas and n.decls is not None:
            members = list(n.decls)
            for index, pragma in reversed(pragmas):
                members.insert(index, pragma)
            saved, n.decls = n.decls, members
            try:
                s = super()._generate_struct_union_enum(n, name)
            finally:
                n.decls = saved
        else:
            s = super()._generate_struct_union_enum(n, name)
        if self.attrs is not None:
            extra = self.attrs.for_type(n, ours=False)
            if extra:
                s = name + ' ' + ' '.join(extra) + s[len(name):]
        return s

    def visit_Decl(self, n, no_type=False):
        # a later declarator of a declaration (`struct e *a, *b`) keeps
        # its own pointer, array and function parts
        s = self._generate_type(n.type, emit_base_type=False) if no_type \
            else self._generate_decl(n)
        extra = self.attrs.decls.get(id(n), []) if self.attrs else []
        labels = [a for a in extra if _is_label(a)]
        if labels:             # an asm label comes right after the declarator
            s += ' ' + ' '.join(labels)
            extra = [a for a in extra if not _is_label(a)]
        if extra and isinstance(n.type, c_ast.FuncDecl):
            s = ' '.join(extra) + ' ' + s
            extra = []
        if n.bitsize:
            s += ' : ' + self.visit(n.bitsize)
        if extra:
            s += ' ' + ' '.join(extra)
        if n.init:
            s += ' = ' + self._visit_expr(n.init)
        return s

    def visit_Typedef(self, n, no_type=False):
        s = self._generate_type(n.type, emit_base_type=False) if no_type \
            else super().visit_Typedef(n)
        extra = self.attrs.decls.get(id(n), []) if self.attrs else []
        return s + (' ' + ' '.join(extra) if extra else '')

    def _visit_decl_group(self, nodes):
        """Declarators that share one type definition, as one declaration
        (`typedef struct {...} A, *PA;`), each with its attributes."""
        if isinstance(nodes[0], c_ast.Typedef):
            return ', '.join([self.visit(nodes[0])] + [
                self.visit_Typedef(n, no_type=True) for n in nodes[1:]])
        return super()._visit_decl_group(nodes)

    def toplevel_group(self, nodes):
        """File-scope declarations, grouped where they share a type
        definition: apart, each would define a type of its own."""
        out = []
        for item in self._coalesce_defined_types(nodes):
            if isinstance(item, list):
                out.append(self.line_of(item[0]) + self._visit_decl_group(item) + ';\n')
            else:
                out.append(self.toplevel(item))
        return out

    def visit_InitList(self, n):
        # `{}` is spelled `{__dsu_empty}` for the parser; a pass may have
        # added to it since (a patch stamps a local's tag: `{.tag = N}`)
        exprs = [e for e in n.exprs if not (isinstance(e, c_ast.ID) and e.name == EMPTY)]
        if not exprs:
            return ''                                   # an empty initializer `{}`
        if len(exprs) != len(n.exprs):
            n = c_ast.InitList(exprs, n.coord)
        return super().visit_InitList(n)

    # -- builtins ------------------------------------------------------------------

    def visit_FuncCall(self, n):
        if isinstance(n.name, c_ast.ID) and n.name.name == '__dsu_se' and n.args:
            return '(__extension__ (' + self.visit(n.args.exprs[0]).rstrip() + '))'
        if isinstance(n.name, c_ast.ID) and n.name.name == ASM_CALL and n.args:
            operands = [self.visit(e) for e in n.args.exprs[1:]]
            return self.asm[int(n.args.exprs[0].value)].format(*operands)
        if isinstance(n.name, c_ast.ID) and n.args is not None:
            if n.name.name == '__dsu_va_arg' and len(n.args.exprs) == 2:
                ap, size = n.args.exprs
                return '__builtin_va_arg(%s, %s)' % (
                    self.visit(ap), self._generate_type(size.expr, emit_declname=False))
            if n.name.name == 'offsetof' and len(n.args.exprs) == 2:
                return '__builtin_offsetof(%s, %s)' % (
                    self._generate_type(n.args.exprs[0], emit_declname=False),
                    self.visit(n.args.exprs[1]))
        return super().visit_FuncCall(n)
