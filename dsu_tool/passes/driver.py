"""Run the enabled passes over one parsed unit and regenerate it."""

import re

from pycparser import c_ast

from ..codegen.cgen import AttributeMap, CGen, rename_functions
from ..codegen.unit import render_program
from ..frontend.errors import DsuError, error_at
from ..analysis.facts import unit_facts
from ..analysis.observed import keep_observed_uses
from ..model.structs import struct_defs
from ..frontend.aswritten import function_spans, locate
from ..frontend.parse import parse_text
from ..model.tu import FUNC, UnitModel
from ..model.typing import Typer
from . import DEFAULT, REGISTRY, run_pre_passes
from .binder import Rewriter
from .aswritten import keep_fixed, mark_entities, slots as as_written_slots
from .aswritten import text_of as aswritten_text
from .braces import restore_braces


class Context:
    """What the passes share while one unit is rewritten."""

    def __init__(self, unit, model, tu_path, cgen):
        self.unit, self.model, self.tu_path, self.cgen = unit, model, tu_path, cgen
        self.before = []       # nodes or C text to emit before the current node
        self.after = []        # ... and after it
        self.trailer = []      # C text at the end of the unit
        self.registry = []     # initialisers of `struct dsu_sym`
        self.functions = []    # (entity, function type) defined here
        self.types = []        # initialisers of `struct dsu_type`
        self.sizes = []        # {sizeof, tag offset} of each wrapped type
        self.layouts = {}      # the project's kept sizes (model.structs)
        self.enabled = ()      # names of the passes that run
        self.current = None    # entity of the function being rewritten


class ProgramRewriter(Rewriter):
    def __init__(self, ctx, passes):
        super().__init__()
        self.ctx, self.passes = ctx, passes
        self.current = None    # entity of the function being rewritten
        self._typer = None

    def _each(self, hook, *args):
        for p in self.passes:
            method = getattr(p, hook, None)
            if method is not None:
                method(*args)

    def reference(self, name, node, call):
        ent = self.ctx.model.entities.get(name)
        if ent is None:
            return None
        if self.current is not None:
            self.current.refs.add(ent.link)
        cur = node
        for p in self.passes:
            method = getattr(p, 'reference', None)
            new = method(ent, cur, call) if method else None
            if new is not None:
                cur = new
        return None if cur is node else cur

    def local_static(self, decl):
        for p in self.passes:
            if hasattr(p, 'local_static'):
                return p.local_static(self, decl)
        return decl

    def local_static_reference(self, link, node):
        if self.current is not None:
            self.current.refs.add(link)
        return super().local_static_reference(link, node)

    def block_extern(self, decl):
        self._each('block_extern', decl)

    def r_UnaryOp(self, node):
        if node.op == 'sizeof':
            self._each('sizeof', self, node)
        self.rewrite_children(node)
        return node

    # conversions between pointer types, for passes that care (wrap)
    def r_Cast(self, node):
        self._each('conversion', self, node.to_type.type, node.expr, node.coord)
        return super().r_Cast(node)

    @property
    def typer(self):
        if self._typer is None:
            self._typer = Typer(self.ctx.unit, self.ctx.model.typedefs, self)
        return self._typer

    def r_Assignment(self, node):
        if node.op == '=' and any(hasattr(p, 'conversion') for p in self.passes):
            ty = self.typer.type_of(node.lvalue)
            if ty is not None:
                self._each('conversion', self, ty, node.rvalue, node.coord)
        self.rewrite_children(node)
        return node

    def r_Decl(self, node):
        if node.init is not None and not isinstance(node.init, c_ast.InitList):
            self._each('conversion', self, node.type, node.init, node.coord)
        attrs = self.ctx.cgen.attrs.decls
        if id(node) in attrs:        # `cleanup(f)`: f is renamed like any use of it
            attrs[id(node)] = [rename_functions(a, lambda name: self._attribute_use(
                name, node.coord)) for a in attrs[id(node)]]
        return super().r_Decl(node)

    def _attribute_use(self, name, coord):
        if self.lookup(name) is not None:
            return name
        new = self.reference(name, c_ast.ID(name, coord), False)
        return new.name if isinstance(new, c_ast.ID) else name


_ALIAS = re.compile(r'(\balias\w*\W*\(\s*")([^"]*)(")')


def _symbol_changes(ent, attrs, model, unit, table):
    """Does the pass change a symbol that a weak or alias declaration of
    ENT depends on?  A function's definition becomes a stub; a variable
    keeps its symbol.  A variable that aliases a static the pass renames
    names the new name (TABLE: the unit's declaration attributes)."""
    if ent.kind == FUNC or re.search(r'\bweakref\b', attrs):
        return True
    target = _ALIAS.search(attrs)
    other = model.entities.get(target.group(2)) if target else None
    if other is not None and other.link != other.name and not other.as_written:
        for ext in unit.ast.ext:
            if isinstance(ext, c_ast.Decl) and ext.name == ent.name and id(ext) in table:
                table[id(ext)] = [_ALIAS.sub(
                    lambda m: m.group(1) + other.link + m.group(3), a) for a in table[id(ext)]]
    return False


def decls_of(ast, unit):
    """Every Decl of the program's own code (and every type name, which
    attributes may qualify too: `(__attribute__((vector_size(16))) float)`),
    the ids of parameters, and id -> depth in the AST of each."""
    decls, params, depths = [], [], {}

    def note(node, depth):
        if isinstance(node, (c_ast.Decl, c_ast.Typedef, c_ast.Typename)):
            if id(node) not in depths:  # declarators share their type nodes
                decls.append(node)
                depths[id(node)] = depth
        elif isinstance(node, c_ast.ParamList):
            params.extend(id(p) for p in node.params if isinstance(p, c_ast.Decl))

    def visit(node, depth):
        note(node, depth)
        todo = [(node, depth)]
        while todo:                  # iterative: blocks nest deeply
            node, depth = todo.pop()
            for _, child in node.children():
                note(child, depth + 1)
                todo.append((child, depth + 1))
    for ext in ast.ext:
        if unit.is_project(ext):
            visit(ext, 0)
    return decls, params, depths


def transform_unit(unit, tu_path, out_name, enabled=None, layouts=None, fixed=None):
    """The updateable C text of UNIT, and its model.  LAYOUTS: the kept
    sizes of wrapped types (model.structs.load_layouts); FIXED: the
    structs kept unwrapped in the whole program (model.structs.load_fixed)."""
    enabled = DEFAULT if enabled is None else enabled
    unknown = set(enabled) - set(DEFAULT)
    if unknown:
        raise DsuError('unknown pass(es): %s' % ', '.join(sorted(unknown)))
    run_pre_passes(unit, enabled)
    decls, params, depths = decls_of(unit.ast, unit)
    cgen = CGen(AttributeMap(unit.attributes, decls, params, depths), asm=unit.asm)
    cgen.attrs.pragmas = unit.member_pragmas or {}
    model = UnitModel(unit, tu_path, cgen.attrs)
    mark_entities(unit, model)
    for ent in model.entities.values():
        attrs = ' '.join(cgen.attrs.decls.get(id(ent.decl), []))
        error = None
        if ent.defined and attrs.startswith('__asm'):
            error = error_at(ent.decl.coord, "an asm label on the definition of '%s' "
                             "(dsu gives the program's definitions symbols of their own)"
                             % ent.name)
        elif re.search(r'\b(__)?(alias|weakref|weak)(__)?\b', attrs) and \
                _symbol_changes(ent, attrs, model, unit, cgen.attrs.decls):
            error = error_at(ent.decl.coord, "'%s' is declared weak or as an alias (dsu "
                             "gives the program's definitions symbols of their own)"
                             % ent.name)
        if error is not None and not ent.as_written:
            # a function keeps its own symbol when compiled as written
            error.whole_function = ent.kind == FUNC and ent.defined
            raise error
    model.structs = struct_defs(unit, model.canon, cgen.attrs, fixed)
    model.require_fixed = keep_fixed(unit, model)
    model.cgen = cgen
    if 'wrap' in enabled:
        keep_observed_uses(unit, model.structs, model.typedefs)
        wrapped = {id(d.node): d for d in model.structs if d.wrapped}
        if wrapped:
            restore_braces(unit, model.typedefs, lambda agg: wrapped.get(id(agg)))
    model.facts = unit_facts(unit, model, 'direct' in enabled and 'indirect' in enabled)
    for link in model.facts['unreachable']:
        for ent in model.entities.values():
            if ent.link == link:
                ent.unreachable = True
    ctx = Context(unit, model, tu_path, cgen)
    ctx.layouts = layouts or {}
    ctx.enabled = enabled
    passes = [cls(ctx) for name, _, cls in REGISTRY if name in enabled and cls]
    rw = ProgramRewriter(ctx, passes)
    chunks = []
    exts = [ext for ext in unit.ast.ext if unit.is_project(ext)]
    for group in cgen._coalesce_defined_types(exts):
        # declarators of one declaration that defines a type
        # (`static struct {...} a, b;`) are rewritten apart, emitted together
        group = group if isinstance(group, list) else [group]
        before, done, after = [], [], []
        for ext in group:
            ctx.before, ctx.after = [], []
            if isinstance(ext, c_ast.FuncDef) and ext.decl.name in (unit.as_written or {}):
                done.append(aswritten_text(unit, model, ext.decl.name))
                continue
            if isinstance(ext, c_ast.Typedef) and ext.name in (unit.raw or {}):
                done.append(unit.raw[ext.name])
                continue
            decl = ext.decl if isinstance(ext, c_ast.FuncDef) else ext
            ent = None
            if isinstance(decl, c_ast.Decl) and decl.name:
                ent = model.entities.get(decl.name)
            rw._each('prepare', ext, ent)
            rw.current = ctx.current = ent if isinstance(ext, c_ast.FuncDef) else None
            ext = rw.rewrite(ext)
            rw.current = None
            rw._each('toplevel', ext, ent)
            before += ctx.before
            done.append(ext)
            after += ctx.after
        for nodes in (before, done, after):
            run = []                  # nodes between C texts, grouped
            for node in nodes + ['']:
                if isinstance(node, str):
                    chunks.extend(cgen.toplevel_group(run))
                    run = []
                    chunks.append(node)
                else:
                    run.append(node)
    rw._each('trailer')
    if 'indirect' in enabled:
        as_written_slots(ctx)
    return render_program(unit, ctx, chunks, out_name), model



def degrading(pre, attempt):
    """ATTEMPT(degrade) until no pass refuses a function body: a function
    that a pass cannot rewrite is compiled as written (frontend.aswritten);
    DEGRADE lists (span, error) of those so far.  Returns ATTEMPT's result."""
    degrade, spans = [], None
    while True:
        try:
            return attempt(degrade)
        except DsuError as e:
            spans = spans or function_spans(pre)
            span = locate(spans, pre, e)
            if span is None or span in [s for s, _ in degrade]:
                raise
            degrade.append((span, e))


def transform_pre(pre, tu_path, out_name, enabled=None, layouts=None, fixed=None,
                  parse=parse_text):
    """Parse and transform the preprocessed unit PRE: (unit, text, model).
    PARSE(pre, degrade) is parse_text or one that keeps its parses
    (frontend.parsecache)."""
    def attempt(degrade):
        unit = parse(pre, degrade)
        return (unit,) + transform_unit(unit, tu_path, out_name, enabled, layouts, fixed)
    return degrading(pre, attempt)
