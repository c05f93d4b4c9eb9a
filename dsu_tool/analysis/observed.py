"""Where the program observes the size or the bytes of a struct.

An updateable build gives each wrapped struct spare room and a version
tag (passes.wrap): the struct grows, and its objects hold bytes that the
ordinary build's do not.  Where the program could tell, it would behave
differently; there the struct is kept unwrapped instead, with the
ordinary build's layout (model.structs.LayoutKeeper), and the reason and
file:line are recorded.  The unit is never refused; a patch that changes
the struct is (patchgen.diff names the reason).

A size only sizes memory, and may grow, when it is an argument of a call
(malloc, calloc, the program's own allocation wrappers: `xmalloc(sizeof
*p)`), on its way there through arithmetic and casts, an array's bound,
or half of `sizeof a / sizeof a[0]`.  It is observed where it is stored,
compared, returned, switched on, and where the call it is given to shows
it or moves bytes with it (printf, write, fwrite, send, read...; memcpy
or memset between something else and the object).

A struct's bytes are observed when a pointer to it is given to a call
that writes them out of the program or reads into it (write, fwrite,
send, read, fread, recv...), or to any other call together with its size
(`xwrite(fd, &h, sizeof h)`, `memcmp(a, b, sizeof *a)`), except the
copying and sorting calls of SIZE_SAFE and calls that return a pointer
(allocation wrappers: `xrealloc(p, n * sizeof *p)`); when it goes through
a variable argument list (va_arg); when memory that is not one is used
as one (`(struct T *)buf`): that memory has no room and no tag; and when
its trailing char array is initialised without a terminating nul: string
functions read on into what follows it, which room would change.
"""

from pycparser import c_ast

from ..model.arrays import string_length
from ..model.structs import LayoutKeeper
from ..model.typing import Typer
from ..passes.binder import Rewriter
from ..passes.wrap import wrapped_in

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

# Calls that write the bytes they are given out of the program.
WRITES = {'write', 'pwrite', 'pwrite64', 'send', 'sendto', 'fwrite', 'fwrite_unlocked',
          'msgsnd', 'mq_send', 'mq_timedsend', 'fputs', 'puts'}

# Calls that fill the memory they are given from outside the program.
READS = {'read', 'pread', 'pread64', 'recv', 'recvfrom', 'fread', 'fread_unlocked',
         'msgrcv', 'mq_receive', 'mq_timedreceive', 'fgets', 'getrandom'}

# Calls that show the values they are given.
PRINTS = {'printf', 'fprintf', 'sprintf', 'snprintf', 'dprintf', 'vprintf', 'vfprintf',
          'vsprintf', 'vsnprintf', 'vdprintf', 'asprintf', 'vasprintf', 'syslog',
          'vsyslog', 'err', 'errx', 'warn', 'warnx', 'verr', 'verrx', 'vwarn', 'vwarnx',
          'error', 'error_at_line', '__builtin_printf', '__builtin_fprintf',
          '__builtin_sprintf', '__builtin_snprintf'}

VA_ARG = '__dsu_va_arg'         # `va_arg(ap, T)`, as frontend.gnu spells it

_ARITHMETIC = {'+', '-', '*', '/', '%', '<<', '>>', '&', '|', '^'}


def keep_observed_uses(unit, structs, typedefs):
    """Keep unwrapped each struct of STRUCTS (model.structs.StructDef)
    whose size or bytes the unit's own code observes, with the reason.
    Keeping one may make another use observable (a copy between a kept
    struct and a wrapped one): the search runs again until nothing new
    is kept."""
    keeper = LayoutKeeper(unit, structs, typedefs)
    for _ in range(len(structs) + 1):
        if not any(d.wrapped for d in structs):
            return
        uses = _Uses(unit, typedefs, keeper)
        for ext in unit.ast.ext:
            if unit.is_project(ext):
                uses.rewrite(ext)
        changed = False
        for ty, reason in uses.found:
            changed = keeper.keep_type(ty, reason) or changed
        if not changed:
            return


def _where(coord):
    return '%s:%d' % (coord.file, coord.line) if coord else 'an unknown place'


def _callee(call):
    return call.name.name if isinstance(call.name, c_ast.ID) else None


def _uncast(expr):
    while isinstance(expr, c_ast.Cast):
        expr = expr.expr
    return expr


def _is_void_pointer(typer, ty):
    ty = typer.resolve(ty)
    target = typer.resolve(ty.type) if isinstance(ty, c_ast.PtrDecl) else None
    return isinstance(target, c_ast.TypeDecl) and isinstance(
        target.type, c_ast.IdentifierType) and target.type.names == ['void']


def _in_declarator(ty, expr, depth=0):
    """Is EXPR an array bound or a bit-field width inside type TY?"""
    while ty is not None and depth < 50 and not isinstance(ty, (str, c_ast.IdentifierType)):
        depth += 1
        if isinstance(ty, c_ast.ArrayDecl) and ty.dim is expr:
            return True
        if isinstance(ty, (c_ast.Struct, c_ast.Union)):
            return any(f.bitsize is expr or _in_declarator(f.type, expr, depth)
                       for f in ty.decls or [])
        if isinstance(ty, c_ast.FuncDecl):
            params = ty.args.params if ty.args else []
            if any(_in_declarator(getattr(p, 'type', None), expr, depth) for p in params):
                return True
        ty = getattr(ty, 'type', None)
    return False


def _char_array_length(typer, ty):
    """N for a `char x[N]` with a constant N, else None."""
    ty = typer.resolve(ty)
    if not isinstance(ty, c_ast.ArrayDecl) or not isinstance(ty.dim, c_ast.Constant):
        return None
    inner = typer.resolve(ty.type)
    if not (isinstance(inner, c_ast.TypeDecl) and isinstance(inner.type, c_ast.IdentifierType)
            and 'char' in inner.type.names):
        return None
    try:
        return int(ty.dim.value.rstrip('uUlL'), 0)
    except ValueError:
        return None


def _fills_without_nul(value, n):
    """Does initialiser VALUE fill a char array of N elements, its last
    one not 0?"""
    if isinstance(value, c_ast.Constant) and value.type == 'string':
        return string_length(value.value) - 1 >= n
    if not isinstance(value, c_ast.InitList) or len(value.exprs) < n or any(
            isinstance(e, c_ast.NamedInitializer) for e in value.exprs):
        return False
    last = value.exprs[n - 1]
    return not (isinstance(last, c_ast.Constant) and last.value in ("'\\0'", '0', "'\\x0'"))


class _Uses(Rewriter):
    """One look at the unit's code; FOUND: (type, reason) of each use
    that observes the size or the bytes of a type holding a wrapped
    struct."""

    def __init__(self, unit, typedefs, keeper):
        super().__init__()
        self.keeper = keeper
        self.typer = Typer(unit, typedefs, self)
        self.found = []

    def _wrapped_of(self, agg):
        d = self.keeper.by_node.get(id(agg))
        return d if d is not None and d.wrapped else None

    def holds(self, ty):
        """The wrapped struct that type TY holds by value, or None."""
        return wrapped_in(self.typer, ty, self._wrapped_of)

    def pointee(self, expr):
        """What EXPR points to, casts looked through."""
        return self.typer.pointee(self.typer.type_of(_uncast(expr)))

    # -- sizes ---------------------------------------------------------------------

    def r_UnaryOp(self, node):
        if node.op == 'sizeof':
            ty = node.expr.type if isinstance(node.expr, c_ast.Typename) \
                else self.typer.type_of(node.expr)
            if self.holds(ty) is not None:
                reason = self._size_use(node)
                if reason:
                    self.found.append((ty, reason))
        self.rewrite_children(node)
        return node

    def _size_use(self, node):
        """Why the value of the sizeof NODE (the end of self.path) is
        observable, or None where it only sizes memory."""
        where = _where(node.coord)
        child = node
        for parent in reversed(self.path[:-1]):
            if isinstance(parent, c_ast.BinaryOp) and parent.op == '/' and all(
                    isinstance(x, c_ast.UnaryOp) and x.op == 'sizeof'
                    for x in (parent.left, parent.right)):
                return None                 # an array's length
            if isinstance(parent, c_ast.FuncCall):
                return self._size_in_call(parent, child, where)
            if isinstance(parent, (c_ast.Decl, c_ast.Typedef, c_ast.Typename)):
                if child is not getattr(parent, 'init', None) and \
                        _in_declarator(parent.type, child):
                    return None             # an array's bound
                break
            if isinstance(parent, c_ast.TernaryOp) and child is not parent.cond or \
                    isinstance(parent, (c_ast.Cast, c_ast.ExprList)) or \
                    isinstance(parent, c_ast.BinaryOp) and parent.op in _ARITHMETIC:
                child = parent
                continue
            break
        return 'its size is observable (sizeof at %s)' % where

    def _size_in_call(self, call, child, where):
        name = _callee(call)
        if child is not call.args:
            return 'its size is observable (sizeof at %s)' % where
        if name == VA_ARG:
            return 'it is passed through a variable argument list (va_arg at %s)' % where
        if name in PRINTS or name in WRITES or name in READS:
            return 'its size is given to %s (%s)' % (name, where)
        n = OBJECT_ARGS.get(name, 0)
        args = call.args.exprs if call.args else []
        if all(self.holds(self.pointee(a)) is not None for a in args[:n]):
            return None
        return 'its bytes are copied to or from other memory (%s at %s)' % (name, where)

    # -- bytes ---------------------------------------------------------------------

    def r_FuncCall(self, node):
        name = _callee(node)
        args = node.args.exprs if node.args is not None else []
        if name not in SIZE_SAFE and name not in ('offsetof', VA_ARG):
            for a in args:
                ty = self.pointee(a)
                if self.holds(ty) is None:
                    continue
                reason = self._bytes_use(node, name, args)
                if reason:
                    self.found.append((ty, reason))
        return super().r_FuncCall(node)

    def _bytes_use(self, call, name, args):
        where = _where(call.coord)
        if name in WRITES:
            return 'its bytes leave the program (%s at %s)' % (name, where)
        if name in READS:
            return 'bytes from outside the program are read into it (%s at %s)' % (
                name, where)
        returned = self.typer.resolve(self.typer.type_of(call))
        if isinstance(returned, c_ast.PtrDecl) or not any(
                self._has_size(a) for a in args):
            return None
        return 'its bytes are given with its size to %s (%s)' % (
            name or 'a call through a pointer', where)

    def _has_size(self, expr):
        """Does EXPR hold a sizeof of a type holding a wrapped struct?"""
        todo = [expr]
        while todo:
            e = todo.pop()
            if isinstance(e, c_ast.UnaryOp) and e.op == 'sizeof':
                ty = e.expr.type if isinstance(e.expr, c_ast.Typename) \
                    else self.typer.type_of(e.expr)
                if self.holds(ty) is not None:
                    return True
            todo.extend(child for _, child in e.children())
        return False

    # -- memory used as a struct ---------------------------------------------------

    def _conversion(self, target, source, coord):
        """`(struct T *)buf`, `struct T *p = (void *)&other`: memory that
        holds no T made to look like one."""
        pointee = self.typer.pointee(target)
        d = self.holds(pointee)
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
        if _is_void_pointer(self.typer, src) or self.holds(self.typer.pointee(src)) is not None:
            return
        if isinstance(inner, c_ast.FuncCall) and inner.args is not None and any(
                self._has_size(a) for a in inner.args.exprs):
            return          # `(struct T *)xalloc(sizeof(struct T))`: memory made for one
        if isinstance(source, c_ast.Cast) or through_void:
            self.found.append((pointee, 'memory that is not a %s is used as one (%s)' % (
                d.name, _where(coord))))

    def r_Cast(self, node):
        self._conversion(node.to_type.type, node, node.coord)
        return super().r_Cast(node)

    def r_Assignment(self, node):
        if node.op == '=':
            ty = self.typer.type_of(node.lvalue)
            if ty is not None:
                self._conversion(ty, node.rvalue, node.coord)
        self.rewrite_children(node)
        return node

    def r_Decl(self, node):
        if node.init is not None and not isinstance(node.init, c_ast.InitList):
            self._conversion(node.type, node.init, node.coord)
        elif isinstance(node.init, c_ast.InitList):
            self._unterminated_tail(node.type, node.init, 0)
        return super().r_Decl(node)

    # -- a trailing array read past its end ----------------------------------------

    def _unterminated_tail(self, ty, init, depth):
        """A struct ending in `char b[4]` initialised with four characters
        and no nul: string functions read on past the array, into what
        follows the struct (the next element of an array of them); room
        after it would change what they read."""
        ty = self.typer.resolve(ty)
        if depth > 20 or not isinstance(init, c_ast.InitList):
            return
        if isinstance(ty, c_ast.ArrayDecl):
            for e in init.exprs:
                value = e.expr if isinstance(e, c_ast.NamedInitializer) else e
                self._unterminated_tail(ty.type, value, depth + 1)
            return
        agg = self.typer.aggregate(ty)
        d = self._wrapped_of(agg) if agg is not None else None
        if d is None:
            return
        members = [f for f in agg.decls or [] if f.name is not None or not f.bitsize]
        last = members[-1] if members else None
        n = _char_array_length(self.typer, last.type) if last is not None else None
        if n is None:
            return
        value, pos = None, -1
        for e in init.exprs:
            if isinstance(e, c_ast.NamedInitializer):
                names = [f.name for f in members]
                first = e.name[0]
                if not isinstance(first, c_ast.ID) or first.name not in names:
                    return
                pos = names.index(first.name)
                if pos == len(members) - 1 and len(e.name) == 1:
                    value = e.expr
            else:
                pos += 1
                if pos == len(members) - 1:
                    value = e
        if _fills_without_nul(value, n):
            self.found.append((agg, 'its last member %s is initialised without a '
                               'terminating nul (%s), so what follows it is read as part '
                               'of it' % (last.name, _where(value.coord))))
