"""The types of C expressions, as far as struct accesses need them.

`Typer.type_of(expr)` answers with a pycparser type node, or None when
the expression's type does not matter here (arithmetic) or cannot be
known.  It follows typedefs, pointers, arrays, field accesses, calls
through functions and function pointers, casts, compound literals and the
conditional operator.  Block-scope names are looked up in the rewriter
that is walking the code (passes.binder.Rewriter keeps their types).
"""

from pycparser import c_ast


class Typer:
    def __init__(self, unit, typedefs, rewriter, like=None):
        """LIKE: a Typer of the same unit whose file-scope names and tags
        this one shares (one walk of the unit, not one per function)."""
        self.typedefs = typedefs
        self.rw = rewriter
        if like is not None:
            self.file_scope, self.tags = like.file_scope, like.tags
            return
        self.file_scope = {}        # name -> type, every file-scope declaration
        self.tags = {}              # struct/union tag -> definition node
        for ext in unit.ast.ext:
            decl = ext.decl if isinstance(ext, c_ast.FuncDef) else ext
            if isinstance(decl, c_ast.Decl):
                if decl.name:
                    self.file_scope[decl.name] = decl.type
                self._collect_tags(decl.type)
            elif isinstance(decl, c_ast.Typedef):
                self._collect_tags(decl.type)

    def _collect_tags(self, ty):
        while ty is not None and not isinstance(ty, (str, c_ast.IdentifierType)):
            if isinstance(ty, (c_ast.Struct, c_ast.Union)):
                if ty.name and ty.decls is not None:
                    self.tags[(type(ty), ty.name)] = ty
                for d in ty.decls or []:
                    self._collect_tags(d.type)
                return
            ty = getattr(ty, 'type', None)

    # -- types ------------------------------------------------------------

    def resolve(self, ty):
        seen = 0
        while isinstance(ty, c_ast.TypeDecl) and isinstance(ty.type, c_ast.IdentifierType) \
                and len(ty.type.names) == 1 and ty.type.names[0] in self.typedefs and seen < 50:
            ty = self.typedefs[ty.type.names[0]]
            seen += 1
        if isinstance(ty, c_ast.Typename):
            return self.resolve(ty.type)
        return ty

    def aggregate(self, ty):
        """The struct or union definition TY names, or None."""
        ty = self.resolve(ty)
        if isinstance(ty, c_ast.TypeDecl) and isinstance(ty.type, (c_ast.Struct, c_ast.Union)):
            s = ty.type
            if s.decls is None and s.name:
                return self.tags.get((type(s), s.name), s)
            return s
        return None

    def pointee(self, ty):
        ty = self.resolve(ty)
        if isinstance(ty, (c_ast.PtrDecl, c_ast.ArrayDecl)):
            return ty.type
        return None

    def field(self, agg, name):
        for d in (agg.decls or []) if agg is not None else []:
            if d.name == name:
                return d.type
            if d.name is None:                      # anonymous member
                inner = self.field(self.aggregate(d.type), name)
                if inner is not None:
                    return inner
        return None

    # -- expressions ----------------------------------------------------------

    def type_of(self, e):
        method = getattr(self, 't_' + type(e).__name__, None)
        return method(e) if method else None

    def t_ID(self, e):
        if self.rw.lookup(e.name) is not None:
            return self.rw.local_type(e.name)
        return self.file_scope.get(e.name)

    def t_StructRef(self, e):
        base = self.type_of(e.name)
        if e.type == '->':
            base = self.pointee(base)
        return self.field(self.aggregate(base), e.field.name)

    def t_ArrayRef(self, e):
        return self.pointee(self.type_of(e.name)) or self.pointee(self.type_of(e.subscript))

    def t_UnaryOp(self, e):
        if e.op == '*':
            return self.pointee(self.type_of(e.expr))
        if e.op == '&':
            inner = self.type_of(e.expr)
            return c_ast.PtrDecl([], inner) if inner is not None else None
        if e.op in ('++', '--', 'p++', 'p--'):
            return self.type_of(e.expr)
        return None

    def t_Cast(self, e):
        return e.to_type.type

    def t_FuncCall(self, e):
        ty = self.resolve(self.type_of(e.name))
        if isinstance(ty, c_ast.PtrDecl):
            ty = self.resolve(ty.type)
        return ty.type if isinstance(ty, c_ast.FuncDecl) else None

    def t_TernaryOp(self, e):
        return self.type_of(e.iftrue) or self.type_of(e.iffalse)

    def t_Assignment(self, e):
        return self.type_of(e.lvalue)

    def t_BinaryOp(self, e):
        if e.op in ('+', '-'):
            for side in (e.left, e.right):
                ty = self.resolve(self.type_of(side))
                if isinstance(ty, (c_ast.PtrDecl, c_ast.ArrayDecl)):
                    return ty if isinstance(ty, c_ast.PtrDecl) else c_ast.PtrDecl([], ty.type)
        return None

    def t_ExprList(self, e):
        return self.type_of(e.exprs[-1]) if e.exprs else None

    def t_CompoundLiteral(self, e):
        return e.type.type
