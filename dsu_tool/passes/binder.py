"""A scope-aware rewriting traversal of the program's own code.

`Rewriter.rewrite(node)` walks a subtree, keeps the C scopes (parameters,
blocks, `for` declarations, enumerators, typedef names), and for every
identifier that refers to a file-scope name of the unit asks
`self.reference(name, node, call)` for a replacement (None keeps it).
Field names, member designators and goto labels are not references.
Block-scope `static` declarations are offered to `self.local_static`,
which may replace the declaration (None removes it from the block) and
bind the name to a link name; uses then go to `local_static_reference`.
"""

from pycparser import c_ast

from ..frontend.parse import set_child

class Rewriter:
    def __init__(self):
        self.scopes = [{}]          # name -> 'local' | replacement name
        self.types = [{}]           # name -> its declared type (block scopes)
        self.function = None        # the FuncDef being rewritten
        self.path = []              # the nodes from the top to the current one

    # -- scopes ------------------------------------------------------------

    def lookup(self, name):
        """The innermost binding of NAME in block scopes, or None."""
        for scope in reversed(self.scopes[1:]):
            if name in scope:
                return scope[name]
        return None

    def bind(self, name, what='local', ty=None):
        if name:
            self.scopes[-1][name] = what
            self.types[-1][name] = ty

    def local_type(self, name):
        """The declared type of a block-scope NAME, or None."""
        for scope, types in zip(reversed(self.scopes[1:]), reversed(self.types[1:])):
            if name in scope:
                return types.get(name)
        return None

    def push(self):
        self.scopes.append({})
        self.types.append({})

    def pop(self):
        self.scopes.pop()
        self.types.pop()

    # -- hooks ---------------------------------------------------------------

    def reference(self, name, node, call):
        return None

    def local_static(self, decl):
        return decl

    # -- traversal -------------------------------------------------------------

    def rewrite(self, node):
        self.path.append(node)
        try:
            method = getattr(self, 'r_' + type(node).__name__, None)
            if method is not None:
                return method(node)
            self.rewrite_children(node)
            return node
        finally:
            self.path.pop()

    def rewrite_children(self, node):
        for name, child in node.children():
            new = self.rewrite(child)
            if new is not child:
                set_child(node, name, new)

    def r_FuncDef(self, node):
        self.function = node
        self.push()
        decl = node.decl
        self.rewrite_type(decl.type)
        for name, ty in _params(decl.type):
            self.bind(name, ty=ty)
        if node.param_decls:
            for d in node.param_decls:
                self.rewrite_type(d.type)
                self.bind(d.name, ty=d.type)
        node.body = self.rewrite(node.body)
        self.pop()
        self.function = None
        return node

    def rewrite_type(self, ty):
        """Visit array sizes and parameter types inside a declarator, which
        may refer to names (`int a[N]`, `sizeof x`) without binding any."""
        if isinstance(ty, c_ast.ArrayDecl) and ty.dim is not None:
            ty.dim = self.rewrite(ty.dim)
        if isinstance(ty, c_ast.FuncDecl):
            self.push()
            for p in (ty.args.params if ty.args else []):
                if isinstance(p, c_ast.Decl):
                    self.rewrite_type(p.type)
                    self.bind(p.name)
                elif isinstance(p, c_ast.Typename):
                    self.rewrite_type(p.type)
            self.pop()
        inner = getattr(ty, 'type', None)
        if isinstance(inner, (c_ast.Struct, c_ast.Union)):
            for d in inner.decls or []:
                self.rewrite_type(d.type)
                if d.bitsize is not None:
                    d.bitsize = self.rewrite(d.bitsize)
        elif isinstance(inner, c_ast.Enum):
            self.r_Enum(inner)
        elif inner is not None and not isinstance(inner, (c_ast.IdentifierType, str)):
            self.rewrite_type(inner)

    def r_Compound(self, node):
        self.push()
        items = []
        for item in node.block_items or []:
            if isinstance(item, c_ast.Decl) and 'static' in (item.storage or []) \
                    and not isinstance(item.type, c_ast.FuncDecl):
                self.rewrite_type(item.type)
                if item.init is not None:
                    item.init = self.rewrite(item.init)
                new = self.local_static(item)
                if new is not None:
                    items.append(new)
                continue
            items.append(self.rewrite(item))
        if node.block_items is not None:
            node.block_items = items
        self.pop()
        return node

    def r_For(self, node):
        self.push()
        self.rewrite_children(node)
        self.pop()
        return node

    def r_Decl(self, node):
        self.rewrite_type(node.type)
        if node.bitsize is not None:
            node.bitsize = self.rewrite(node.bitsize)
        if self.function is not None or len(self.scopes) > 1:
            if 'extern' in (node.storage or []) or isinstance(node.type, c_ast.FuncDecl):
                # the name means the file-scope entity again, even where
                # a local of that name was visible
                self.bind(node.name, None)
                self.block_extern(node)
            else:
                self.bind(node.name, ty=node.type)
        if node.init is not None:
            node.init = self.rewrite(node.init)
        return node

    def block_extern(self, node):
        """A block-scope `extern` or function declaration refers to the
        file-scope entity; subclasses rename it like a reference."""

    def r_Typedef(self, node):
        self.rewrite_type(node.type)
        if len(self.scopes) > 1:
            self.bind(node.name)
        return node

    def r_Enum(self, node):
        if node.values is not None:
            for e in node.values.enumerators:
                if e.value is not None:
                    e.value = self.rewrite(e.value)
                if len(self.scopes) > 1:
                    self.bind(e.name)
        return node

    def r_Struct(self, node):
        for d in node.decls or []:
            self.rewrite_type(d.type)
            if d.bitsize is not None:
                d.bitsize = self.rewrite(d.bitsize)
        return node

    r_Union = r_Struct

    def r_StructRef(self, node):
        node.name = self.rewrite(node.name)
        return node

    def r_NamedInitializer(self, node):
        # designators: `.field` is no reference, `[index]` is an expression
        node.name = [n if isinstance(n, c_ast.ID) else self.rewrite(n)
                     for n in node.name]
        node.expr = self.rewrite(node.expr)
        return node

    def r_FuncCall(self, node):
        if isinstance(node.name, c_ast.ID) and node.name.name == 'offsetof' and \
                node.args is not None and len(node.args.exprs) == 2:
            node.args.exprs[0] = self.rewrite(node.args.exprs[0])
            self._member_designator(node.args.exprs[1])
            return node
        if isinstance(node.name, c_ast.ID) and self.lookup(node.name.name) is None:
            new = self.reference(node.name.name, node.name, True)
            if new is not None:
                node.name = new
        else:
            node.name = self.rewrite(node.name)
        if node.args is not None:
            node.args = self.rewrite(node.args)
        return node

    def _member_designator(self, node):
        """`offsetof(T, a.b[i])`: member names are no references; only the
        subscripts are expressions."""
        if isinstance(node, c_ast.ArrayRef):
            node.subscript = self.rewrite(node.subscript)
            self._member_designator(node.name)
        elif isinstance(node, c_ast.StructRef):
            self._member_designator(node.name)

    def r_ID(self, node):
        bound = self.lookup(node.name)
        if bound is None:
            new = self.reference(node.name, node, False)
            return node if new is None else new
        if bound != 'local':
            return self.local_static_reference(bound, node)
        return node

    def local_static_reference(self, link, node):
        """A use of a function-local static, bound to LINK by local_static."""
        return c_ast.ID(link, node.coord)

    def r_Typename(self, node):
        self.rewrite_type(node.type)
        return node

    def r_Cast(self, node):
        node.to_type = self.rewrite(node.to_type)
        node.expr = self.rewrite(node.expr)
        return node

    def r_Goto(self, node):
        return node

    def r_Label(self, node):
        node.stmt = self.rewrite(node.stmt)
        return node


def _params(functype):
    """(name, type) of each parameter; K&R identifiers have no type yet."""
    if not isinstance(functype, c_ast.FuncDecl) or functype.args is None:
        return []
    out = []
    for p in functype.args.params:
        if isinstance(p, c_ast.Decl):
            out.append((p.name, p.type))
        elif isinstance(p, c_ast.ID):
            out.append((p.name, None))
    return out
