"""Continuations.

A server's `main` typically fills a session struct on its stack and calls
the accept loop; the parent never comes back, and each forked child
returns into `main`, which goes on with the struct.  `main` is then
running at every update point: a change to its code after the call would
never run, and the uses of the struct there would keep any patch from
changing the struct's type.

The pass moves the statements that follow such a call, up to the end of
the function, into a function of their own (the continuation), called
through a slot like an extracted loop body (passes.loops):

    int main(void) { struct session s; fill(&s); serve(&s); greet(&s); return 0; }
into
    static int __dsu_cont_4main_5serve_1(struct session *__dsu_p_s)
    { greet(&(*__dsu_p_s)); return 0; }
    int main(void) { struct session s; fill(&s); serve(&s);
                     return __dsu_cont_4main_5serve_1(&s); }

The variables the rest uses are reached through pointers; its `return`s
return the function's value.  At an update point under `serve`, only the
head of `main` is on the stack and it does nothing after the call but
call the continuation, so a child forked after an update runs the new
continuation, with its data converted when the new code first touches it.

Which calls lead to an update point, seen from one unit at a time:
  * in any function, a call to a function of the unit that holds an
    update point (or a quiescent region's start) or calls one, through
    the unit's call graph (a loop whose extracted body does, too): the
    cost is one call through a slot each time that call returns, on a
    path that waits for updates anyway;
  * in `main` (and its continuations) also a call to a function of
    another unit that a header of the project declares (the way units
    share functions), or to one of this unit that calls one: `main` runs
    once, so the cost is nil, and the accept loop usually lives in
    another unit.  Library functions (declared by a system header, named
    by the C standard library, reserved `__` names), functions declared
    pure or const, and functions the main file declares itself do not
    count: gcc's tests, for one, declare functions that the ordinary
    build relies on the optimiser to remove (`link_error`), and moving
    the code after them into another function would keep those calls.
Not counted: the update point itself (a function holding one finishes
in its old version, as before) and calls through pointers.  A program
with no such call gets no continuation and pays nothing.

The code after the call stays where it is, and the function keeps
running its old version there, when the function carries an attribute
that moving its code would break (`noreturn`, `target`, `optimize` ...),
is an `inline` definition with external linkage, or calls setjmp; or
when the code after the call is entered by a goto from before it, jumps
back before it, calls something that needs the frame (va_start, alloca,
__builtin_return_address ...), asks __builtin_constant_p, ends a
quiescent region begun before it, or uses a variable that has no address
(`register`), has a type of variable length, or a type defined in the
function.  The reason is kept
in the unit (`kept_in_place`), so that `scons patch` can say why a change
there cannot take effect.
"""

import copy
import re
from dataclasses import dataclass

from pycparser import c_ast

from ..codegen.literals import c_string
from ..model.arrays import Lengths, with_length
from ..model.builtins import is_library_name
from ..model.tu import continuation_name, is_extracted, user_function
from .binder import Rewriter
from .common import copy_tree, SETJMP_CALLS, copy_type, declaration, innermost, is_void, nodes, pointer_to
from .loops import UPDATE_POINT, Extractor, _Body, _labels, _variably_modified

QUIESCENT_BEGIN, QUIESCENT_END = 'dsu__quiescent_begin', 'dsu__quiescent_end'
# calls that need the frame they were written in
_FRAME_CALLS = {'setjmp', '_setjmp', 'sigsetjmp', '__sigsetjmp', 'vfork', '__builtin_va_start',
                'va_start', '__builtin_return_address', '__builtin_frame_address',
                '__builtin_apply_args', '__builtin_va_arg_pack', '__builtin_va_arg_pack_len',
                'alloca', '__builtin_alloca', '__builtin_alloca_with_align'}
# attributes of a function that its code, moved to another function, would lose
_BINDING_ATTRIBUTES = ('noreturn', 'target', 'optimize', 'naked', 'interrupt',
                       'returns_twice', 'no_split_stack', 'no_stack_protector',
                       'stack_protect', 'no_sanitize', 'ifunc', 'simd')
_FUNCTION_NAMES = ('__func__', '__FUNCTION__', '__PRETTY_FUNCTION__')


@dataclass
class Kept:
    """Code after a call that leads to an update point, left in its function."""
    function: str       # the user's function
    callee: str         # the call it follows ('' for the loop)
    file: str
    line: int           # of the call
    reason: str

    def where(self):
        return '%s:%d' % (self.file, self.line)


class _Calls(Rewriter):
    """The functions each function of the unit calls by name."""

    def __init__(self):
        super().__init__()
        self.called = set()

    def reference(self, name, node, call):
        if call:
            self.called.add(name)
        return None


def _call_graph(unit, attributes):
    """(reaching, main_reaching): the functions whose call counts in any
    function, and those whose call counts in main (see the module's doc)."""
    defined, variables, system, declared = {}, set(), set(), set()
    for ext in unit.ast.ext:
        if isinstance(ext, c_ast.FuncDef):
            defined[ext.decl.name] = ext
        elif isinstance(ext, c_ast.Decl) and ext.name:
            if not isinstance(ext.type, c_ast.FuncDecl):
                variables.add(ext.name)
            elif not unit.is_project(ext):
                system.add(ext.name)
            else:
                declared.add(ext.name)
    as_written = unit.as_written or {}
    calls, holds = {}, set()
    for name, fd in defined.items():
        if name in as_written:
            # what its tokens name that is a function of the program (the
            # names of its own locals and nested functions are not)
            rec = as_written[name]
            calls[name] = set(rec.names) & (set(defined) | declared)
            if any(t.text in (UPDATE_POINT, QUIESCENT_BEGIN) for t in rec.span.toks):
                holds.add(name)
            continue
        walker = _Calls()
        walker.rewrite(fd)
        calls[name] = walker.called
        if walker.called & {UPDATE_POINT, QUIESCENT_BEGIN}:
            holds.add(name)

    # A function of another unit counts where a header of the project
    # declares it (the way units share functions), unless it cannot hold
    # an update point (pure, const).  One the main file declares itself
    # may be a function the ordinary build needs optimised away (gcc's
    # tests call undefined link_error()s that way).
    main = defined.get('main')
    home = main.coord.file if main is not None and main.coord else None
    shared = {ext.name for ext in unit.ast.ext if isinstance(ext, c_ast.Decl)
              and ext.name in declared and ext.coord and ext.coord.file != home}
    shared = {n for n in shared if not any(
        re.search(r'\b(__)?(pure|const)(__)?\b', a) for a in attributes.get(n, ()))}

    def unknown(callee):
        return callee in shared and callee not in defined and callee not in variables \
            and callee not in system and not is_library_name(callee)

    def closure(start):
        callers = {}
        for caller, callees in calls.items():
            for callee in callees:
                callers.setdefault(callee, set()).add(caller)
        seen, todo = set(start), list(start)
        while todo:
            for caller in callers.get(todo.pop(), ()):
                if caller not in seen:
                    seen.add(caller)
                    todo.append(caller)
        return seen

    reaching = closure(holds) & set(defined)
    outside = {c for callees in calls.values() for c in callees if unknown(c)}
    return reaching, reaching | outside | (closure(outside) & set(defined))


def _function_attributes(unit):
    """name -> the attribute texts on any file-scope declaration of it."""
    spans = []
    for a in unit.attributes:
        if a.where == 'decl':
            spans.append((a.anchor, a.text))
            if a.shared and a.declaration:
                spans.append((a.declaration, a.text))
    out = {}
    if not spans:
        return out
    for ext in unit.ast.ext:
        decl = ext.decl if isinstance(ext, c_ast.FuncDef) else ext
        if not isinstance(decl, c_ast.Decl) or not isinstance(decl.type, c_ast.FuncDecl) \
                or decl.coord is None:
            continue
        at = (decl.coord.file, decl.coord.line, decl.coord.column or 0)
        for (lo, hi), text in spans:
            if lo <= at <= hi:
                out.setdefault(decl.name, []).append(text)
    return out


class _Rest(_Body):
    """The code after the call, rewritten for the continuation: the
    function's variables through pointers, except the pointers an
    extracted function was given (THROUGH), which are passed on as they
    are; `__func__` still names the user's function."""

    def __init__(self, visible, through, origin):
        super().__init__(visible)
        self.through, self.origin = through, origin

    def reference(self, name, node, call):
        if name in _FUNCTION_NAMES:
            return c_ast.Constant('string', c_string(self.origin), node.coord)
        if name in self.through:
            self.used[name] = self.visible[name]
            return None
        return super().reference(name, node, call)


def _local_types(items):
    """(typedef names, tags, enumerators) the statements ITEMS define."""
    typedefs, tags, enumerators = set(), set(), set()
    for item in items:
        if isinstance(item, c_ast.Typedef):
            typedefs.add(item.name)
        if isinstance(item, (c_ast.Decl, c_ast.Typedef)):
            for n in nodes(item.type):
                if isinstance(n, (c_ast.Struct, c_ast.Union)) and n.name and \
                        (n.decls is not None or isinstance(item.type, (c_ast.Struct, c_ast.Union))):
                    tags.add(n.name)
                elif isinstance(n, c_ast.Enum) and n.values is not None:
                    if n.name:
                        tags.add(n.name)
                    enumerators |= {e.name for e in n.values.enumerators}
    return typedefs, tags, enumerators


def _mentions(node, local):
    """A name of LOCAL (_local_types) that NODE uses, or None."""
    typedefs, tags, enumerators = local
    for n in nodes(node):
        if isinstance(n, c_ast.IdentifierType) and set(n.names) & typedefs:
            return (set(n.names) & typedefs).pop()
        if isinstance(n, (c_ast.Struct, c_ast.Union, c_ast.Enum)) and n.name in tags:
            return '%s %s' % (type(n).__name__.lower(), n.name)
        if isinstance(n, c_ast.ID) and n.name in enumerators:
            return n.name
    return None


def _defines_type(ty):
    return any(isinstance(n, (c_ast.Struct, c_ast.Union)) and n.decls is not None
               or isinstance(n, c_ast.Enum) and n.values is not None for n in nodes(ty))


def _where(node):
    return '%s:%d' % (node.coord.file, node.coord.line) if node.coord else ''


class ContinuationExtractor(Extractor):
    def __init__(self, unit):
        super().__init__(unit)
        self.attributes = _function_attributes(unit)
        self.reaching, self.main_reaching = _call_graph(unit, self.attributes)
        self.kept = {}
        self.found = []
        self.implied = {}          # array declared `[]` -> its initialiser
        self.lengths = None        # model.arrays.Lengths, made when needed

    def run(self):
        ext = []
        as_written = self.unit.as_written or {}
        for node in self.unit.ast.ext:
            if self.unit.is_project(node) and isinstance(node, c_ast.FuncDef) \
                    and node.decl.name not in as_written:
                ext.extend(self._continuations(node))
            ext.append(node)
        self.unit.ast.ext = ext
        self.unit.kept_in_place = self.kept

    def _continuations(self, func):
        """The continuations made of FUNC's code, each one before the
        continuation (or FUNC) that calls it."""
        made, self.in_main = [], func.decl.name == 'main'
        while func is not None:
            self.made = None
            self.top = func.body
            self.rewrite(func)
            func = self.made
            if func is not None:
                made.insert(0, func)
        return made

    def reference(self, name, node, call):
        if call and (name in self.reaching or self.in_main and name in self.main_reaching):
            self.found.append(name)
        return None

    def r_Compound(self, node):
        if node is not self.top:
            return super().r_Compound(node)
        self.top = None
        self.push()
        items = node.block_items or []
        for i, item in enumerate(items):
            self.found = []
            if isinstance(item, c_ast.Decl) and 'static' in (item.storage or []) \
                    and not isinstance(item.type, c_ast.FuncDecl):
                self.rewrite_type(item.type)       # as Rewriter.r_Compound does
                if item.init is not None:
                    item.init = self.rewrite(item.init)
                self.local_static(item)
            else:
                self.rewrite(item)
            rest = [s for s in items[i + 1:] if not isinstance(s, c_ast.EmptyStatement)]
            if not self.found or not rest:
                continue
            callee = '' if self.found[0].startswith('__dsu_loop_') else self.found[0]
            whole = self._refused_function(self.function)
            why = whole or self._split(node, i, callee)
            if why is None:
                break
            origin = user_function(self.function.decl.name)
            self.kept.setdefault(origin, Kept(
                origin, callee, item.coord.file if item.coord else '',
                item.coord.line if item.coord else 0, why))
            if whole:
                break          # a later call would not do better
        self.pop()
        return node

    def r_Decl(self, node):
        if isinstance(node.type, c_ast.ArrayDecl) and node.type.dim is None and \
                node.init is not None and self.function is not None:
            self.implied[node.name] = node.init
        return super().r_Decl(node)

    def local_static(self, decl):
        if isinstance(decl.type, c_ast.ArrayDecl) and decl.type.dim is None and \
                decl.init is not None:
            self.implied[decl.name] = decl.init
        return super().local_static(decl)

    def _implied_length(self, var, ty):
        """The length the initialiser of array VAR (declared `[]`) gives it."""
        init = self.implied.get(var)
        if init is None:
            return None
        if self.lengths is None:
            typedefs = {e.name: e.type for e in self.unit.ast.ext if isinstance(e, c_ast.Typedef)}
            self.lengths = Lengths(self.unit.ast, typedefs)
        return self.lengths.length(ty, init)

    def _refused_function(self, func):
        name = func.decl.name
        for text in self.attributes.get(name, ()):
            for word in _BINDING_ATTRIBUTES:
                if word in text:
                    return '%s is declared with __attribute__((%s))' % (
                        user_function(name), text.split('((', 1)[-1].rstrip(')') or word)
        if 'inline' in (func.decl.funcspec or []) and 'static' not in (func.decl.storage or []):
            return '%s is an inline definition with external linkage' % user_function(name)
        for n in nodes(func.body):
            if isinstance(n, c_ast.FuncCall) and isinstance(n.name, c_ast.ID) \
                    and n.name.name in SETJMP_CALLS:
                return '%s calls %s (%s), which a longjmp may return to' % (
                    user_function(name), n.name.name, _where(n))
        return None

    def _split(self, block, i, callee):
        """Move what follows statement I of BLOCK (the function's body) into
        a continuation; None, or why it stays."""
        func = self.function
        items = block.block_items
        prefix, rest = items[:i + 1], c_ast.Compound(items[i + 1:], items[i + 1].coord)
        inside = _labels(rest)
        for stmt in prefix:
            for n in nodes(stmt):
                if isinstance(n, c_ast.Goto) and n.name in inside:
                    return 'a goto before the call (%s) jumps past it' % _where(n)
        quiescent = 0          # regions ended minus begun after the call
        for n in nodes(rest):
            if isinstance(n, c_ast.Goto) and n.name not in inside:
                return 'a goto after the call (%s) jumps back before it' % _where(n)
            called = n.name.name if isinstance(n, c_ast.FuncCall) and \
                isinstance(n.name, c_ast.ID) and self.lookup(n.name.name) is None else None
            if called in _FRAME_CALLS:
                return 'it calls %s after the call (%s), which needs the frame of %s' % (
                    called.replace('__builtin_', ''), _where(n), user_function(func.decl.name))
            if called == '__builtin_constant_p':
                return 'it asks __builtin_constant_p (%s), which a value reached through ' \
                    'a pointer would answer otherwise' % _where(n)
            quiescent += (called == QUIESCENT_END) - (called == QUIESCENT_BEGIN)
        if quiescent > 0:
            return 'a quiescent region begun before the call ends after it'
        local = _local_types(prefix)
        named = _mentions(rest, local)
        if named:
            return 'it uses %s, a type defined in %s before the call' % (
                named, user_function(func.decl.name))
        visible = {n: ty for n, ty in self._visible().items() if self.lookup(n) is not None}
        name = func.decl.name
        through = set()
        if is_extracted(name):
            through = {p for p in self.params if p.startswith('__dsu_p_') or p == '__dsu_ret'}
        origin = user_function(name)
        mover = _Rest(visible, through, origin)
        moved = mover.rewrite(copy_tree(rest))
        for var, ty in sorted(mover.used.items()):
            shown = var[len('__dsu_p_'):] if var.startswith('__dsu_p_') else var
            if var in self.registers:
                return 'it uses %s, which has no address (register, or retyped by an ' \
                    'attribute)' % shown
            if ty is None or _variably_modified(ty):
                return 'it uses %s, whose type has a length known only at run time' % shown
            if isinstance(ty, c_ast.ArrayDecl) and ty.dim is None:
                n = self._implied_length(var, ty)
                if n is None:
                    return 'it uses %s, an array whose length is not written' % shown
                mover.used[var] = with_length(ty, n)
            if _defines_type(ty) or _mentions(ty, local):
                return 'it uses %s, whose type is defined in %s' % (shown, origin)
        returns = func.decl.type.type
        void = is_void(returns)
        key = (origin, callee)
        self.counts[key] = self.counts.get(key, 0) + 1
        cont = continuation_name(origin, callee, self.counts[key])
        params, args = [], []
        for var, ty in sorted(mover.used.items()):
            if var in through:
                params.append(declaration(ty, var))
                args.append(c_ast.ID(var))
            else:
                params.append(declaration(pointer_to(ty, '__dsu_p_' + var), '__dsu_p_' + var,
                                          fresh=True))
                args.append(c_ast.UnaryOp('&', c_ast.ID(var)))
        if not params:
            params = [c_ast.Typename(None, [], None, c_ast.TypeDecl(
                None, [], None, c_ast.IdentifierType(['void'])))]
        externs = [copy_tree(d) for d in prefix if isinstance(d, c_ast.Decl) and (
            'extern' in (d.storage or []) or isinstance(d.type, c_ast.FuncDecl))]
        body = externs + (moved.block_items or [])
        if self.in_main and not void and not (body and isinstance(body[-1], c_ast.Return)):
            body.append(c_ast.Return(c_ast.Constant('int', '0')))   # as main's end does
        ret = copy_type(returns)
        innermost(ret).declname = cont
        at = copy.copy(prefix[-1].coord)
        at.column = 0          # on no declarator: attributes attach by position
        self.made = c_ast.FuncDef(
            c_ast.Decl(cont, [], [], ['static'], [], c_ast.FuncDecl(c_ast.ParamList(params), ret),
                       None, None, coord=at),
            None, c_ast.Compound(body, rest.coord), coord=at)
        coord = rest.coord
        call = c_ast.FuncCall(c_ast.ID(cont, coord), c_ast.ExprList(args) if args else None,
                              coord)
        block.block_items = prefix + [call if void else c_ast.Return(call, coord)]
        return None


def extract_continuations(unit):
    """Move, in place, the code after each call that leads to an update
    point into a continuation (see the module's doc)."""
    ContinuationExtractor(unit).run()
    return unit
