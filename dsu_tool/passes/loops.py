"""Loop extraction.

A long-running loop never returns, so a patch to the function holding it
would never take effect.  The pass finds every loop whose body holds an
update point (a `DSU_update();` statement directly in the loop body) and
rewrites

    while (cond) { A; DSU_update(); B; }
into
    while (cond) { DSU_update(); switch-on(__dsu_loop_F_1(&x, &y, &ret)) }

where `__dsu_loop_F_1` runs A; B with the enclosing function's variables
reached through pointers.  `break`, `continue` and `return` in the body
become result codes the loop acts on.  The extracted body is an ordinary
function of the program: it gets a slot, a patch can replace it, and the
next iteration runs the new body.  The update point moves to the head of
the iteration, where the extracted body is not on the stack, so a type
used only inside the body can change there.

A loop is left as it is (and the update point stays in it) when its body
jumps out with goto, uses `alloca`, `setjmp` or labels as values, or uses
a `register` or variably-modified variable of the function, or one
whose attributes change its type (`vector_size`, `mode`).
"""

import re

from pycparser import c_ast

from .binder import Rewriter, set_child
from .common import copy_tree, calls_any, declaration, is_void, nodes, pointer_to
from ..model.tu import LOOP_PREFIX

UPDATE_POINT = 'dsu__update_point'
BREAK, CONTINUE, RETURN = 1, 2, 3
_UNSAFE_CALLS = {'alloca', '__builtin_alloca', 'setjmp', '_setjmp', 'sigsetjmp',
                 '__sigsetjmp', 'vfork'}


def _has_update_point(node):
    return calls_any(node, (UPDATE_POINT,))


def _labels(node):
    return {n.name for n in nodes(node) if isinstance(n, c_ast.Label)}


class _Body(Rewriter):
    """Rewrites a loop body for its own function: uses of the enclosing
    function's variables go through pointers."""

    def __init__(self, visible):
        super().__init__()
        self.visible = visible          # name -> type, of the enclosing function
        self.used = {}

    def reference(self, name, node, call):
        if name not in self.visible:
            return None
        self.used[name] = self.visible[name]
        return c_ast.UnaryOp('*', c_ast.ID('__dsu_p_' + name), node.coord)


def _exits(node, returns_value, depth_loop=0, depth_switch=0, codes=None):
    """Turn break/continue/return that leave the body into result codes
    (those made are added to CODES)."""
    codes = set() if codes is None else codes
    if isinstance(node, c_ast.Compound):
        node.block_items = [_exits(s, returns_value, depth_loop, depth_switch, codes)
                            for s in node.block_items or []] or node.block_items
        return node
    if isinstance(node, c_ast.Break) and depth_loop == 0 and depth_switch == 0:
        codes.add(BREAK)
        return c_ast.Return(c_ast.Constant('int', str(BREAK)), node.coord)
    if isinstance(node, c_ast.Continue) and depth_loop == 0:
        codes.add(CONTINUE)
        return c_ast.Return(c_ast.Constant('int', str(CONTINUE)), node.coord)
    if isinstance(node, c_ast.Return):
        codes.add(RETURN)
        code = c_ast.Return(c_ast.Constant('int', str(RETURN)), node.coord)
        if node.expr is not None and returns_value:
            store = c_ast.Assignment('=', c_ast.UnaryOp('*', c_ast.ID('__dsu_ret')),
                                     node.expr, node.coord)
            return c_ast.Compound([store, code], node.coord)
        return code
    loop = isinstance(node, (c_ast.While, c_ast.DoWhile, c_ast.For))
    switch = isinstance(node, c_ast.Switch)
    for name, child in node.children():
        new = _exits(child, returns_value, depth_loop + loop, depth_switch + switch, codes)
        if new is not child:
            set_child(node, name, new)
    return node


# Declaration attributes that change the declared type: a pointer to the
# variable, written from its declarator alone, would point to another type.
_RETYPING = re.compile(r'\b(__)?(vector_size|mode)(__)?\b')


def _retyped_lines(unit):
    """(file, line) -> spans of the declarations that carry a retyping
    attribute (attributes are recorded by position; the AST has none)."""
    out = {}
    for a in unit.attributes:
        if a.where != 'decl' or not _RETYPING.search(a.text):
            continue
        span = a.declaration if a.shared and a.declaration else a.anchor
        (f1, l1, _), (f2, l2, _) = span
        for line in range(l1, (l2 if f2 == f1 else l1) + 1):
            out.setdefault((f1, line), []).append(span)
    return out


class Extractor(Rewriter):
    """What moving code of a function into a function of its own needs
    (shared with passes.continuations): the variables in scope and the
    type a pointer to each has, and which cannot be reached through a
    pointer (`register`, retyped by an attribute)."""

    def __init__(self, unit):
        super().__init__()
        self.unit = unit
        self.new_functions = []
        self.counts = {}
        self.retyped_lines = _retyped_lines(unit)

    def r_FuncDef(self, node):
        self.params = {name for name, _ in _param_types(node.decl.type)}
        self.registers = set()
        self.function_gotos = len(_goto_list(node.body))
        return super().r_FuncDef(node)

    def local_static(self, decl):
        self.bind(decl.name, ty=decl.type)   # reached through a pointer too
        return decl

    def r_Decl(self, node):
        if 'register' in (node.storage or []) or self._retyped(node):
            self.registers.add(node.name)
        return super().r_Decl(node)

    def _retyped(self, decl):
        """Does an attribute change DECL's type (`vector_size`)?"""
        c = decl.coord
        if c is None:
            return False
        at = (c.file, c.line, c.column or 0)
        return any(lo <= at <= hi for lo, hi in self.retyped_lines.get((c.file, c.line), ()))

    def _visible(self):
        """The enclosing function's variables in scope here, with the type
        a pointer to them has (array and function parameters decayed)."""
        out = {}
        for scope, types in zip(self.scopes[1:], self.types[1:]):
            for name, what in scope.items():
                ty = types.get(name)
                if name in self.params and isinstance(ty, (c_ast.ArrayDecl, c_ast.FuncDecl)):
                    ty = c_ast.PtrDecl([], ty.type if isinstance(ty, c_ast.ArrayDecl) else ty)
                out[name] = ty
        return out


class LoopExtractor(Extractor):
    def run(self):
        ext = []
        for node in self.unit.ast.ext:
            if self.unit.is_project(node) and isinstance(node, c_ast.FuncDef):
                self.new_functions = []
                self.rewrite(node)
                ext.extend(self.new_functions)
            ext.append(node)
        self.unit.ast.ext = ext

    def r_While(self, node):
        self.rewrite_children(node)
        return self._extract(node)

    r_DoWhile = r_While

    def r_For(self, node):
        self.push()
        self.rewrite_children(node)
        node = self._extract(node)
        self.pop()
        return node

    def _extract(self, loop):
        body = loop.stmt
        if not isinstance(body, c_ast.Compound) or not body.block_items:
            return loop
        points = [s for s in body.block_items if _has_update_point(s)
                  and not isinstance(s, (c_ast.Compound, c_ast.If, c_ast.While, c_ast.For,
                                         c_ast.DoWhile, c_ast.Switch))]
        if len(points) != 1:
            return loop
        point = points[0]
        rest = c_ast.Compound([s for s in body.block_items if s is not point], body.coord)
        if calls_any(rest, _UNSAFE_CALLS) or not set(_goto_list(rest)) <= _labels(rest):
            return loop
        if _labels(rest) and len(_goto_list(rest)) != self.function_gotos:
            return loop            # a goto from outside may enter the body
        visible = self._visible()
        if any(ty is None or _variably_modified(ty) for ty in visible.values()):
            return loop
        func = self.function.decl
        returns = func.type.type                  # the function's return type
        returns_value = not is_void(returns)
        mover = _Body(visible)
        rest = mover.rewrite(copy_tree(rest))
        if set(mover.used) & self.registers:
            return loop            # a register variable has no address, and a
            #                        vector's type is not in its declarator
        codes = set()
        rest = _exits(rest, returns_value, codes=codes)
        rest.block_items = (rest.block_items or []) + [c_ast.Return(c_ast.Constant('int', '0'))]
        if returns_value:          # a loop that never returns leaves it unused (-Wextra)
            rest.block_items.insert(0, c_ast.Cast(c_ast.Typename(None, [], None, c_ast.TypeDecl(
                None, [], None, c_ast.IdentifierType(['void']))), c_ast.ID('__dsu_ret')))
        name = self._name(func.name)
        params = [declaration(pointer_to(ty, '__dsu_p_' + n), '__dsu_p_' + n)
                  for n, ty in sorted(mover.used.items())]
        if returns_value:
            params.append(declaration(pointer_to(returns, '__dsu_ret'), '__dsu_ret'))
        if not params:
            params = [c_ast.Typename(None, [], None, c_ast.TypeDecl(
                None, [], None, c_ast.IdentifierType(['void'])))]
        fdecl = c_ast.FuncDecl(c_ast.ParamList(params), c_ast.TypeDecl(
            name, [], None, c_ast.IdentifierType(['int'])))
        self.new_functions.append(c_ast.FuncDef(
            c_ast.Decl(name, [], [], ['static'], [], fdecl, None, None, coord=loop.coord),
            None, rest, coord=loop.coord))
        # the loop: update point at the head, then the body's function
        args = [c_ast.UnaryOp('&', c_ast.ID(n)) for n in sorted(mover.used)]
        items = [point]
        if returns_value:
            items.append(declaration(returns, '__dsu_ret'))
            args.append(c_ast.UnaryOp('&', c_ast.ID('__dsu_ret')))
        code = c_ast.ID('__dsu_code')
        call = c_ast.FuncCall(c_ast.ID(name), c_ast.ExprList(args))
        items.append(c_ast.Decl('__dsu_code', [], [], [], [], c_ast.TypeDecl(
            '__dsu_code', [], None, c_ast.IdentifierType(['int'])), call, None)
            if codes else call)
        ret = c_ast.Return(c_ast.ID('__dsu_ret') if returns_value else None)
        # only the codes the body returns: a `for (;;)` that never breaks
        # stays one that gcc knows never ends (-Wreturn-type)
        for value, action in ((BREAK, c_ast.Break()), (CONTINUE, c_ast.Continue()),
                              (RETURN, ret)):
            if value not in codes:
                continue
            items.append(c_ast.If(c_ast.BinaryOp('==', code, c_ast.Constant('int', str(value))),
                                  action, None))
        for item in items:
            item.coord = item.coord or loop.coord
        loop.stmt = c_ast.Compound(items, body.coord)
        return loop

    def _name(self, func):
        n = self.counts.get(func, 0) + 1
        self.counts[func] = n
        return '%s%s_%d' % (LOOP_PREFIX, func, n)


def _goto_list(node):
    return [n.name for n in nodes(node) if isinstance(n, c_ast.Goto)]


def _param_types(functype):
    if not isinstance(functype, c_ast.FuncDecl) or functype.args is None:
        return []
    return [(p.name, p.type) for p in functype.args.params if isinstance(p, c_ast.Decl)]


def _variably_modified(ty):
    while ty is not None and not isinstance(ty, (str, c_ast.IdentifierType)):
        if isinstance(ty, c_ast.ArrayDecl) and ty.dim is not None and not isinstance(
                ty.dim, c_ast.Constant) and not _constant(ty.dim):
            return True
        ty = getattr(ty, 'type', None)
    return False


def _constant(expr):
    """Array sizes made of constants and sizeof are not variable."""
    if isinstance(expr, c_ast.Constant):
        return True
    if isinstance(expr, c_ast.UnaryOp):
        return expr.op == 'sizeof' or _constant(expr.expr)
    if isinstance(expr, c_ast.BinaryOp):
        return _constant(expr.left) and _constant(expr.right)
    if isinstance(expr, c_ast.Cast):
        return _constant(expr.expr)
    if isinstance(expr, c_ast.TernaryOp):
        return all(_constant(x) for x in (expr.cond, expr.iftrue, expr.iffalse))
    return False


def extract_loops(unit):
    """Extract, in place, the bodies of the unit's update-point loops."""
    LoopExtractor(unit).run()
    return unit
