"""emit: the C of a patch, one file per unit of B that has changes.

Patch code binds to the running program only through the runtime: every
function it calls and every variable it uses is an import, a cell the
runtime fills (by link name and type hash) before it changes anything.
So the patch applies the same way to a fresh build of A and to an older
build already patched up to A.  What the patch defines itself (new
functions with their slots and stubs, new variables, new constants) has
hidden visibility inside the patch and is announced to the runtime as a
definition, so later patches can bind to it.  A definition whose
initialiser names the running program is completed at apply time
(patchgen.initialise).  The wrapped struct types that B introduces are
listed for the runtime (section dsu_newtypes), which knows them from
then on, so later patches can change them too.
"""

import copy
import json
import os
import re

from pycparser import c_ast

from ..analysis.observed import keep_observed_uses
from ..codegen.cgen import AttributeMap, CGen
from ..codegen.literals import c_comment, c_header_name
from ..codegen.records import func_sym, import_record, record, var_sym
from ..codegen.stubs import stub_asm
from ..codegen.unit import (RUNTIME_INCLUDE, head, registry_table, sizes_table,
                             standard_spellings)
from ..model.arrays import with_length
from ..model.structs import TAG, fixed_of, struct_defs
from ..model.builtins import is_builtin_name
from ..model.tu import FUNC, LocalStaticNames, UnitModel
from ..model.typing import Typer
from ..passes.binder import Rewriter
from ..passes.common import copy_tree, c_string, declaration, is_void, pointer_to, rename_decl
from ..passes.aswritten import keep_fixed, mark_entities
from ..passes.braces import restore_braces
from ..passes.driver import decls_of
from ..passes.indirect import is_noreturn
from ..passes.wrap import (make_writable, size_entry, stamp_tags, type_entry, wrap_struct,
                           wrapped_in)
from ..frontend.errors import DsuError, error_at
from .diff import CHANGED, REBOUND, RENAMED
from .initialise import Fills, constant_shape, drop_object_const, names_running_program
from .transform import Transformers
from ..versions.record import points_table

PBODY = '__dsu_pbody_%s'
PSLOT = '__dsu_pslot_%s'
PSTUB = '__dsu_pstub_%s'
PVAR = '__dsu_pvar_%s'
CELL = {'slot': '__dsu_imps_%s', 'stub': '__dsu_impa_%s', 'var': '__dsu_impv_%s'}
IMPORT_KIND = {'slot': 'DSU_IMPORT_SLOT', 'stub': 'DSU_IMPORT_STUB',
               'var': 'DSU_IMPORT_VAR'}
HIDDEN = '__attribute__((visibility("hidden"))) '
EVERY = None        # a declaration every part of a unit's patch file repeats
# A unit whose patch code is larger than this (characters of its functions'
# source) is written as several files compiled side by side, one per
# processor at most (gcc compiles one file on one processor)
PART_TEXT = 40000


def is_type_declaration(ext):
    """Declarations a patch file repeats: types, pragmas, static asserts."""
    return isinstance(ext, (c_ast.Typedef, c_ast.Pragma, c_ast.StaticAssert)) or (
        isinstance(ext, c_ast.Decl) and ext.name is None)


def embedded_type(ext):
    """`struct T {...} var;` defines struct T too: a patch file repeats the
    definition alone, `struct T {...};`, and the variable keeps a reference
    to it by tag.  Returns the definition (the original node, which keeps
    its identity for wrapping), or None."""
    if not isinstance(ext, c_ast.Decl) or ext.name is None:
        return None
    parent, ty = ext, ext.type
    while isinstance(ty, (c_ast.PtrDecl, c_ast.ArrayDecl, c_ast.TypeDecl)):
        parent, ty = ty, ty.type
    if not isinstance(ty, (c_ast.Struct, c_ast.Union, c_ast.Enum)) or not ty.name:
        return None
    members = 'values' if isinstance(ty, c_ast.Enum) else 'decls'
    if getattr(ty, members) is None:
        return None
    reference = copy.copy(ty)
    setattr(reference, members, None)
    parent.type = reference
    return c_ast.Decl(None, [], [], [], [], ty, None, None, coord=ext.coord)


class PatchRewriter(Rewriter):
    def __init__(self, emitter):
        super().__init__()
        self.e = emitter
        self.names = LocalStaticNames(emitter.unit.tu)
        self.local_types = {}      # link of a local static -> its type
        # the names as the unit declares them: the emitter renames each
        # definition it has emitted (a call to it is still typed)
        self.typer = Typer(emitter.parsed, emitter.model.typedefs, self, like=emitter.typer)

    def r_Decl(self, node):
        node = super().r_Decl(node)
        if self.function is None:
            return node
        ent = self.e.model.entities.get(node.name)
        if 'extern' in (node.storage or []) and \
                ent is not None and self.e.plan.b.entity(ent.link) is not None:
            # a block-scope `extern` of the program's own: its uses now go
            # through the patch's import, the declaration is left unused
            return c_ast.EmptyStatement(node.coord)
        if isinstance(node.init, c_ast.InitList):
            # a local the patch's code initialises is made in the new
            # layout: it carries that layout's tag, or its first use would
            # convert it as an object of the old one
            stamp_tags(node.init, node.type, self.typer, self.e.wrapped_of)
        return node

    def r_FuncCall(self, node):
        name = node.name.name if isinstance(node.name, c_ast.ID) else None
        node = super().r_FuncCall(node)
        ent = self.e.model.entities.get(name) if name and self.lookup(name) is None else None
        direct = isinstance(node.name, c_ast.ID) and (
            node.name.name == name or node.name.name == PBODY % getattr(ent, 'link', ''))
        if ent is None or ent.kind != FUNC or direct or not is_void(getattr(ent.decl.type, 'type', None)) or \
                not is_noreturn(ent, self.e.model, self.e.cgen.attrs):
            return node
        # a call through a slot or the patch's import cell to a function
        # that does not return: gcc cannot see that through the pointer's
        # type, so say it (-Wreturn-type, and the code after it)
        return c_ast.ExprList([node, c_ast.FuncCall(c_ast.ID('__builtin_unreachable'), None)],
                              node.coord)

    def r_CompoundLiteral(self, node):
        self.rewrite_children(node)
        stamp_tags(node.init, node.type.type, self.typer, self.e.wrapped_of)
        return node

    def r_StructRef(self, node):
        """A field of a wrapped struct is read through its check, which
        converts an object still in an older layout first."""
        base = self.typer.type_of(node.name)
        if node.type == '->':
            base = self.typer.pointee(base)
        agg = self.typer.aggregate(base)
        node.name = self.rewrite(node.name)
        d = self.e.wrapped.get(id(agg)) if agg is not None else None
        if d is None:
            if agg is None and node.field.name in self.e.wrapped_fields:
                raise error_at(node.coord, "cannot tell the type of the expression "
                               "whose '%s' is used; a patch must know whether it is "
                               "a wrapped struct" % node.field.name)
            return node
        check = c_ast.ID(self.e.check(d))
        if node.type == '->':
            node.name = c_ast.FuncCall(check, c_ast.ExprList([node.name]))
        elif isinstance(node.name, _LVALUES) and not (
                isinstance(node.name, c_ast.UnaryOp) and node.name.op != '*'):
            node.name = c_ast.UnaryOp('*', c_ast.FuncCall(
                check, c_ast.ExprList([c_ast.UnaryOp('&', node.name)])))
        # else an rvalue: a copy just made by code of this version
        return node

    def reference(self, name, node, call):
        ent = self.e.model.entities.get(name)
        if ent is None or self.e.plan.b.entity(ent.link) is None:
            return None            # not defined by the program: bound directly
        if self.e.plan.b.entity(ent.link).kind == FUNC:
            return self.e.function_ref(ent, call, node, self.function)
        return self.e.variable_ref(ent.link, ent.decl.type, node)

    def local_static(self, decl):
        link = self.names.next(self.function.decl.name, decl.name)
        self.bind(decl.name, link, decl.type)
        self.local_types[link] = decl.type
        if self.e.plan.defined_by_patch(link):
            self.e.define_variable(link, decl)
        return None

    def local_static_reference(self, link, node):
        return self.e.variable_ref(link, self.local_types[link], node)


_LVALUES = (c_ast.ID, c_ast.StructRef, c_ast.ArrayRef, c_ast.UnaryOp)

# (&*(p): an array used with -> is a pointer to its first element)
# The tag is loaded with acquire order (a plain load on x86-64, `ldar` on
# arm64): another thread may have just converted the object, and finding
# its tag must mean seeing its converted fields (dsu__convert stores the
# tag with release order).  The order is spelled 2, the value of
# __ATOMIC_ACQUIRE: the generated unit undefines the macros it uses.
CHECK = ('#define %(macro)s(p) (__extension__({ __typeof__(&*(p)) __dsu_p = (p); '
         'if (__builtin_expect(%(cell)s->changed, 0) && '
         '__atomic_load_n(&__dsu_p->%(tag)s, 2) != %(value)uu) '
         'dsu__convert(%(cell)s, (void *)__dsu_p, %(value)uu); __dsu_p; }))\n'
         'static struct dsu_type_state *%(cell)s;\n')


class UnitEmitter:
    """Writes the patch file for one unit of B."""

    def __init__(self, plan, unit):
        self.plan, self.unit = plan, unit
        self.parsed = unit.parse()
        decls, params, depths = decls_of(self.parsed.ast, self.parsed)
        self.cgen = CGen(AttributeMap(self.parsed.attributes, decls, params, depths),
                         asm=self.parsed.asm)
        self.cgen.attrs.pragmas = self.parsed.member_pragmas or {}
        self.model = UnitModel(self.parsed, unit.tu, self.cgen.attrs)
        self.imports = {}          # (link, kind) -> (cell, hash)
        self.declared = set()      # names declared in this file
        self.before = []           # (part or EVERY, C text) to put before the current node
        self.home = EVERY          # the part the current node goes to
        self.part_of = {}          # link of a function -> its part
        self.cross = set()         # bodies called directly from another part
        self.defs, self.updates = [], []   # (part or EVERY, record)
        self.fill_homes = []       # the part of each fill routine (self.fills.states)
        self.parts = 1
        self.fills = Fills(self.cgen)
        self.structs = struct_defs(self.parsed, self.model.canon, self.cgen.attrs,
                                   fixed_of(unit.manifest))
        # as the program does: the structs its as-written code uses stay unwrapped
        self.model.structs = self.structs
        mark_entities(self.parsed, self.model)
        keep_fixed(self.parsed, self.model)
        if 'wrap' in unit.manifest.get('passes', ['wrap']):
            keep_observed_uses(self.parsed, self.structs, self.model.typedefs)
        self.wrapped = {}          # id(struct node) -> StructDef, for wrapped ones
        for d in self.structs:
            if d.wrapped:
                self.wrapped[id(d.node)] = d
        if self.wrapped:
            restore_braces(self.parsed, self.model.typedefs, self.wrapped_of)
        self.wrapped_fields = {f.name for d in self.structs if d.wrapped
                               for f in d.fields if f.name}
        self.checks = {}           # key -> (macro, cell, StructDef)
        self.typer = Typer(self.parsed, self.model.typedefs, Rewriter())
        self.sizes = []            # size entries of the wrapped types here
        self.new_types = {}        # key -> dsu_type record, of types new in B
        self.wrapped_keys = set()  # the wrapped types already given room
        self.extra_imports = []    # import entries made outside _import
        self.new_functions = []    # (link, entity, type) with a slot of their own
        self.body_attrs = {}       # function name -> attributes of its declarations
        self.filled = self._filled_at_apply()
        for ext in self.parsed.ast.ext:
            if isinstance(ext, c_ast.Decl) and isinstance(ext.type, c_ast.FuncDecl) \
                    and self.parsed.is_project(ext):
                self.body_attrs.setdefault(ext.name, []).extend(
                    self.cgen.attrs.for_body(ext))

    # -- references ----------------------------------------------------------

    def _direct_callees(self, funcdef):
        """What FUNCDEF calls directly in B's own build (analysis.facts)."""
        caller = self.model.entities.get(funcdef.decl.name) if funcdef else None
        if caller is None:
            return ()
        return self.unit.model.facts['functions'].get(caller.link, {}).get('direct', ())

    def function_ref(self, ent, call, node, funcdef=None):
        link = ent.link
        if call and is_builtin_name(ent.name):
            return self.builtin_call(ent, node)
        if call and link in self.plan.functions and self.plan.b.unit_of[link] is self.unit \
                and link in self._direct_callees(funcdef):
            # as in B's own build: a direct call, to the body in this file
            self.declare_body(ent)
            return c_ast.ID(PBODY % link, node.coord)
        if self.plan.defined_by_patch(link):
            name = (PSLOT if call else PSTUB) % link
            if name not in self.declared:
                self.declared.add(name)
                attrs = self.cgen.attrs
                ty = pointer_to(ent.decl.type, name, attrs) if call else ent.decl.type
                self.before.append((EVERY, HIDDEN + self.cgen.visit(
                    declaration(ty, name, ['extern'], attrs=attrs, fresh=call)) + ';\n'))
            return c_ast.ID(name, node.coord)
        kind = 'slot' if call else 'stub'
        cell = self._import(link, kind, ent.decl.type)
        # a stub cell is dereferenced too: `*cell` is the function itself,
        # so both `f` and `&f` give its address
        return c_ast.UnaryOp('*', c_ast.ID(cell), node.coord)

    def builtin_call(self, ent, node):
        """As in the program (passes.indirect), a call to a function named
        like a gcc builtin stays a call by that name, which gcc may fold
        as the builtin; the name is bound (an asm label) to a stub of this
        file that jumps to the program's stub, or to the patch's own."""
        if ent.name not in self.declared:
            self.declared.add(ent.name)
            if self.plan.defined_by_patch(ent.link):
                target = PSTUB % ent.link
            else:
                target = '__dsu_pcall_%s' % ent.link
                cell = self._import(ent.link, 'stub', ent.decl.type)
                self.before.append((EVERY, stub_asm(target, cell, local=True)))
            self.before.append((EVERY, '%s __asm__("%s");\n' % (self.cgen.visit(
                declaration(ent.decl.type, ent.name, ['extern'])), target)))
        return c_ast.ID(ent.name, node.coord)

    def declare_body(self, ent):
        """Declare the patch's body of function ENT, with the attributes
        B's declarations give the function (noinline, format...)."""
        name = PBODY % ent.link
        if name in self.declared:
            return
        self.declared.add(name)
        # a body another part calls is a hidden symbol of the patch
        cross = ent.link in self.cross
        decl = declaration(ent.decl.type, name, ['extern' if cross else 'static'],
                           attrs=self.cgen.attrs)
        self.before.append((EVERY if cross else self.part_of.get(ent.link, 0),
                            (HIDDEN if cross else '') +
                            ' '.join(self.body_attrs.get(ent.name, []) +
                                     [self.cgen.visit(decl)]) + ';\n'))

    def complete(self, ty, link):
        """TY, the declared type of variable LINK in this unit, with the
        length B's definition gives it if TY is an array declared `[]`:
        patch code may take its size (model.arrays)."""
        ent = self.plan.b.entity(link)
        if isinstance(ty, c_ast.ArrayDecl) and ty.dim is None and ent is not None \
                and ent.length is not None:
            return with_length(ty, ent.length)
        return ty

    def variable_ref(self, link, ty, node):
        ty = self.complete(ty, link)
        if self.plan.defined_by_patch(link):
            name = PVAR % link
            if name not in self.declared:
                self.declared.add(name)
                self.before.append((EVERY, HIDDEN + self.cgen.visit(
                    declaration(self.object_type(ty, link), name, ['extern'])) + ';\n'))
            return c_ast.ID(name, node.coord)
        target = self.plan.b.entity(link)
        if target is not None and target.thread_local:
            raise error_at(node.coord, "the patch uses thread-local '%s': not "
                           "supported yet" % target.name)
        cell = self._import(link, 'var', ty)
        return c_ast.UnaryOp('*', c_ast.ID(cell), node.coord)

    def _import(self, link, kind, ty):
        key = (link, kind)
        if key not in self.imports:
            cell = CELL[kind] % link
            self.imports[key] = (cell, self.plan.b.entity(link).hash)
            # var: T *cell; slot: R (**cell)(P); stub: R (*cell)(P)
            attrs = self.cgen.attrs
            cty = pointer_to(pointer_to(ty, cell, attrs), cell, attrs) if kind == 'slot' \
                else pointer_to(ty, cell, attrs)
            self.before.append((EVERY, self.cgen.visit(
                declaration(cty, cell, ['static'], fresh=True)) + ';\n'))
        return self.imports[key][0]

    def check(self, d):
        """The name of the check macro of wrapped struct D."""
        if d.key not in self.checks:
            n = len(self.checks)
            self.checks[d.key] = ('__dsu_chk_%d' % n, '__dsu_impt_%d' % n, d)
        return self.checks[d.key][0]

    def type_declaration(self, ext):
        """Repeat a type declaration; a wrapped struct gets the size it
        has in the running program."""
        ext = PatchRewriter(self).rewrite(ext)
        node = getattr(ext, 'type', None)          # a pragma has none
        # `typedef struct E {...} *EP;` defines struct E too
        while isinstance(node, (c_ast.TypeDecl, c_ast.PtrDecl, c_ast.ArrayDecl)):
            node = node.type
        d = self.wrapped.get(id(node))
        # `typedef struct {...} T, *P;` is two typedefs of one struct node
        if d is not None and d.key not in self.wrapped_keys:
            self.wrapped_keys.add(d.key)
            wrap_struct(d, self.cgen, self.plan.kept_sizes(d.key))
            self.sizes.append(size_entry(d))
            if d.key not in self.plan.a.structs and d.key not in self.new_types:
                # the patch introduces it: the runtime learns it from the
                # patch, so that a later patch can change it
                self.new_types[d.key] = type_entry(d)
        return ext

    # -- definitions ---------------------------------------------------------------

    def object_type(self, ty, link):
        """TY for the patch's own definition of variable LINK: writable
        when it holds a wrapped struct (passes.wrap), or when it is filled
        at apply time (patchgen.initialise)."""
        ty = copy_tree(ty)
        if wrapped_in(self.typer, ty, self.wrapped_of) is not None:
            make_writable(ty)
        if link in self.filled:
            drop_object_const(ty)
        return ty

    def _filled_at_apply(self):
        """The links of the variables this file defines whose initialiser
        names the running program.  Decided before any declaration is
        written, because each must agree with the (writable) definition;
        an identifier that is neither the patch's own definition nor an
        enumerator counts, which can only make a constant writable."""
        def running(name):
            ent = self.model.entities.get(name)
            if ent is None:
                return name not in self.unit.enums
            return self.plan.b.entity(ent.link) is not None and \
                not self.plan.defined_by_patch(ent.link)
        return {c.link for c in self.plan.patch_variables(self.unit)
                if names_running_program(c.ent.decl.init, running)}

    def wrapped_of(self, agg):
        """The StructDef of wrapped struct node AGG, or None."""
        return self.wrapped.get(id(agg))

    def define_variable(self, link, decl):
        storage = PVAR % link
        new = declaration(self.object_type(decl.type, link), storage)
        rw = PatchRewriter(self)
        new.init = rw.rewrite(decl.init) if decl.init is not None else None
        stamp_tags(new.init, new.type, self.typer, self.wrapped_of)
        cells = self.imports_in(new.init) if new.init is not None else []
        full = new.init
        if cells:
            assert link in self.filled, link   # else a declaration disagrees
            new.init = constant_shape(full, set(cells))
        self.declared.add(storage)
        home = self.home if self.home is not EVERY else 0
        if self.parts > 1:       # the other parts' code may use it (and its size)
            self.before.append((EVERY, HIDDEN + self.cgen.visit(declaration(
                self.object_type(self.complete(decl.type, link), link), storage,
                ['extern'])) + ';\n'))
        self.before.append((home, HIDDEN + self.cgen.visit(new) + ';\n'))
        if cells:
            where = "'%s' (%s:%d)" % (decl.name, decl.coord.file, decl.coord.line)
            self.before.append((home, self.fills.routine(where, decl.type, full, storage)))
            self.fill_homes.append(home)
        self.defs.append((home, var_sym(self.plan.b.entity(link), storage)))

    def imports_in(self, node):
        """The import cells NODE uses."""
        cells = {v[0] for v in self.imports.values()}
        found = []

        class V(c_ast.NodeVisitor):
            def visit_ID(self, n):
                if n.name in cells:
                    found.append(n.name)
        V().visit(node)
        return found

    # -- the file ---------------------------------------------------------------------

    def emit(self, parts=1, part_size=PART_TEXT):
        """The unit's patch file, as [(C text, counts)]: one file, or up to
        PARTS files of about equal size (at least PART_SIZE characters of
        the functions' source each) that compile side by side."""
        changes = {c.link: c for c in self.plan.patch_functions(self.unit)}
        self._no_raw_names(changes)
        new_vars = {c.link for c in self.plan.patch_variables(self.unit)}
        self._partition(changes, parts, part_size)
        chunks = []                # (part or EVERY, C text)
        for ext in self.parsed.ast.ext:
            if not self.parsed.is_project(ext):
                continue
            self.before = []
            self.home = EVERY
            definition = embedded_type(ext)
            if definition is not None:
                chunks.append((EVERY, self.cgen.toplevel(self.type_declaration(definition))))
            if isinstance(ext, c_ast.FuncDef):
                ent = self.model.entities.get(ext.decl.name)
                if ent is not None and ent.inline_only and self.plan.b.entity(ent.link) is None:
                    if ent.as_written:
                        self._no_copy_of(ent, changes)
                        continue
                    ext = self._local_inline(ext)
                    chunks += self.before
                    chunks.append((EVERY, self.cgen.toplevel(ext)))
                    continue
                change = changes.get(ent.link) if ent else None
                if change is None:
                    continue
                self.home = self.part_of[ent.link]
                rw = PatchRewriter(self)
                ext = rw.rewrite(ext)
                self.declare_body(ent)
                rename_decl(ext.decl, PBODY % ent.link)
                # a body another part calls is a hidden symbol of the patch
                ext.decl.storage = [] if ent.link in self.cross else ['static']
                ext.decl.funcspec = [f for f in ext.decl.funcspec or [] if f != 'inline']
                self._table(change, ext.decl.type)
            elif is_type_declaration(ext):
                ext = self.type_declaration(ext)
            elif isinstance(ext, c_ast.Decl) and ext.name:
                ent = self.model.entities.get(ext.name)
                if ent is not None and not ent.static and not ent.defined and \
                        self.plan.b.entity(ent.link) is None:
                    # the program's own declaration of a library function or
                    # variable (`void exit(int);`): its code uses the name
                    chunks.append((EVERY, self.cgen.toplevel(ext)))
                    continue
                if ent is None or ent.link not in new_vars or ent.kind == FUNC \
                        or not ent.defined or ext is not ent.decl:
                    continue
                self.home = 0
                self.define_variable(ent.link, ext)
                chunks += self.before
                continue
            else:
                continue
            chunks += self.before
            chunks.append((self.home, self.cgen.toplevel(ext)))
        return [self._render(chunks, part) for part in range(self.parts)]

    def _partition(self, changes, parts, part_size):
        """Cut the functions of CHANGES, in the unit's order, into up to
        PARTS runs of about equal source text, at most one per PART_SIZE
        characters (self.part_of); a body that a function of another part
        calls directly becomes a hidden symbol of the patch (self.cross)."""
        order = [self.model.entities[ext.decl.name].link for ext in self.parsed.ast.ext
                 if isinstance(ext, c_ast.FuncDef) and self.parsed.is_project(ext)
                 and ext.decl.name in self.model.entities
                 and self.model.entities[ext.decl.name].link in changes]
        order = list(dict.fromkeys(order)) + sorted(set(changes) - set(order))
        weight = {link: len(self.unit.body(changes[link].ent)) + 200 for link in order}
        total = sum(weight.values())
        self.parts = n = max(1, min(parts, total // max(1, part_size), len(order)))
        done, part = 0, -1
        for i, link in enumerate(order):
            # where its middle falls, no part skipped, none left empty
            at = (2 * done + weight[link]) * n // (2 * max(1, total))
            part = max(min(at, part + 1, n - 1), n - (len(order) - i), part)
            self.part_of[link] = part
            done += weight[link]
        if self.parts > 1:
            direct = self.unit.model.facts['functions']
            for link in order:
                for callee in direct.get(link, {}).get('direct', ()):
                    if callee in self.part_of and self.part_of[callee] != self.part_of[link]:
                        self.cross.add(callee)

    def _no_raw_names(self, changes):
        """A declaration kept as written declares names the program's table
        does not hold: patch code that uses one is refused."""
        raw = {n: r for r in self.parsed.raw_declarations or [] for n in r.declares}
        for link, c in sorted(changes.items()):
            for name in set(re.findall(r'[A-Za-z_]\w*', self.unit.body(c.ent))) & set(raw):
                r = raw[name]
                raise DsuError("the patch's code of '%s' uses '%s', declared by a "
                               "declaration kept as written, because %s (%s:%s): a patch "
                               "cannot bind to it" % (c.ent.name, name, r.reason, r.file,
                                                      r.line), c.ent.file, c.ent.line)

    def _no_copy_of(self, ent, changes):
        """An inline definition compiled as written has no AST a copy could
        be made from: patch code that calls it is refused."""
        users = sorted(c.ent.name for c in changes.values() if ent.link in c.ent.refs)
        if users:
            rec = self.parsed.as_written.get(ent.name)
            raise DsuError("the patch's code of %s calls '%s', an inline definition "
                           "compiled as written, because %s%s: a patch cannot have a "
                           "copy of it" % (', '.join("'%s'" % u for u in users), ent.name,
                                           ent.as_written, ' (%s:%s)' % (rec.file, rec.line)
                                           if rec else ''), ent.file, ent.line)

    def _local_inline(self, funcdef):
        """An inline definition whose function has no external definition
        in the program (so no slot to bind to): the patch's code that
        calls it needs a definition of its own, static in the patch."""
        funcdef = PatchRewriter(self).rewrite(funcdef)
        funcdef.decl.storage = ['static']
        return funcdef

    def _table(self, change, functype):
        link, ent = change.link, change.ent
        body = PBODY % link
        home = self.part_of.get(link, 0)
        if change.kind in (CHANGED, REBOUND):
            self.updates.append((home, record('dsu_update', name=c_string(link),
                                              type_hash=c_string(ent.hash),
                                              body='__extension__ (void *)' + body)))
            return
        if change.kind == RENAMED and change.old.hash == ent.hash:
            # old callers and old function pointers reach the new code too
            self.updates.append((home, record('dsu_update', name=c_string(change.old.link),
                                              type_hash=c_string(change.old.hash),
                                              body='__extension__ (void *)' + body)))
        self.new_functions.append((link, ent, functype))

    def _render(self, chunks, part):
        """The text and counts of part PART of the file: what every part
        repeats (types, declarations, the import cells and their table)
        and what is its own (bodies, definitions and their tables)."""
        def own(home):
            return home is EVERY or home == part
        trailer, defs = [], [d for home, d in self.defs if own(home)]
        declared = set()
        for link, ent, functype in self.new_functions:
            if self.part_of.get(link, 0) != part:
                continue
            slot, stub = PSLOT % link, PSTUB % link
            slot_def = declaration(pointer_to(functype, slot), slot)
            slot_def.init = c_ast.ID(PBODY % link)
            trailer.append(HIDDEN + self.cgen.visit(slot_def) + ';\n')
            trailer.append(stub_asm(stub, slot, hidden=True))
            if stub not in self.declared and stub not in declared:
                declared.add(stub)     # the table below takes its address
                trailer.append(HIDDEN + self.cgen.visit(
                    declaration(ent.decl.type, stub, ['extern'], attrs=self.cgen.attrs)) + ';\n')
            defs.append(func_sym(ent, slot, stub))
        imports = [import_record(link, h, IMPORT_KIND[kind], cell)
                   for (link, kind), (cell, h) in sorted(self.imports.items())]
        imports += self.extra_imports
        checks = []
        for key, (macro, cell, d) in sorted(self.checks.items()):
            checks.append(CHECK % {'macro': macro, 'cell': cell, 'tag': TAG,
                                   'value': d.tag_value()})
            imports.append(import_record(key, d.hash, 'DSU_IMPORT_TYPE', cell))
        updates = [u for home, u in self.updates if own(home)]
        states = [s for home, s in zip(self.fill_homes, self.fills.states) if own(home)]
        body = standard_spellings(''.join(checks + [text for home, text in chunks
                                                    if own(home)]))
        tables = (registry_table(defs, 'dsu_defs', 'dsu_sym', 'def')
                  + registry_table(imports, 'dsu_imports', 'dsu_import', 'import')
                  + registry_table(updates, 'dsu_updates', 'dsu_update', 'update')
                  + registry_table(states, 'dsu_states', 'dsu_state', 'fill_state')
                  + registry_table(list(self.new_types.values()), 'dsu_newtypes', 'dsu_type',
                                   'newtype')
                  + sizes_table(self.sizes))
        text = head(self.parsed, body + ''.join(trailer) + tables, 'patch') + body
        counts = (len(defs), len(imports), len(updates), 0, len(states),
                  len(self.new_types))
        return text + ''.join(trailer) + tables, counts


def emit_unit(plan, unit, parts=1, part_size=None):
    """[(C text, counts)] of UNIT's patch file, in up to PARTS parts of at
    least PART_SIZE characters of source (PART_TEXT by default)."""
    return UnitEmitter(plan, unit).emit(parts, part_size or PART_TEXT)


def emit_transformers(plan, unit, types, retyped, xf_path):
    """The patch file holding the transformers whose types UNIT defines."""
    e = UnitEmitter(plan, unit)
    chunks = []
    for ext in e.parsed.ast.ext:
        if not e.parsed.is_project(ext):
            continue
        definition = embedded_type(ext)
        if definition is not None:
            chunks.append(e.cgen.toplevel(e.type_declaration(definition)))
        elif is_type_declaration(ext):
            chunks.append(e.cgen.toplevel(e.type_declaration(ext)))
    tr = Transformers(plan, e, xf_path)
    for n, t in enumerate(types):
        tr.type_transformer(t, n)
    for n, change in enumerate(retyped):
        tr.state_transformer(change, n)
    include = tr.finish()
    body = standard_spellings(''.join(chunks + tr.parts)) + include
    tables = (registry_table(tr.xforms, 'dsu_xforms', 'dsu_xform', 'xform')
              + registry_table(tr.states, 'dsu_states', 'dsu_state', 'state')
              + registry_table(e.extra_imports, 'dsu_imports', 'dsu_import', 'import')
              + registry_table(list(e.new_types.values()), 'dsu_newtypes', 'dsu_type',
                               'newtype')
              + sizes_table(e.sizes))
    text = head(e.parsed, body + tables, 'transformers') + body + tables
    return text, (0, len(e.extra_imports), 0, len(tr.xforms), len(tr.states),
                  len(e.new_types))


def descriptor(plan, counts, summary, transformers=()):
    ndefs, nimports, nupdates, nxforms, nstates, ntypes = (sum(c[i] for c in counts)
                                                           for i in range(6))
    lines = ['/* %s */' % c_comment('Generated by dsu: the descriptor of patch %s -> %s.'
                                    % (plan.a.name, plan.b.name)),
             '#include ' + c_header_name(os.path.join(RUNTIME_INCLUDE, 'dsu_internal.h'))]
    for section, ctype in (('dsu_defs', 'dsu_sym'), ('dsu_imports', 'dsu_import'),
                           ('dsu_updates', 'dsu_update'), ('dsu_xforms', 'dsu_xform'),
                           ('dsu_states', 'dsu_state'), ('dsu_newtypes', 'dsu_type')):
        lines.append('extern const struct %s __start_%s[] __attribute__((weak, '
                     'visibility("hidden")));' % (ctype, section))
    lines.append(points_table(plan.b.points, '__dsu_points'))
    lines.append('const struct dsu_patch dsu_patch = %s;' % record(
        'dsu_patch', magic='DSU_PATCH_MAGIC', abi='DSU_ABI_VERSION',
        program=c_string(os.path.basename(plan.b.program)),
        from_version=c_string(plan.a.name), from_id=c_string(plan.a.id),
        to_version=c_string(plan.b.name), to_id=c_string(plan.b.id),
        defs='__start_dsu_defs', ndefs=str(ndefs),
        imports='__start_dsu_imports', nimports=str(nimports),
        updates='__start_dsu_updates', nupdates=str(nupdates),
        summary=c_string(summary),
        xforms='__start_dsu_xforms', nxforms=str(nxforms),
        states='__start_dsu_states', nstates=str(nstates),
        points='__dsu_points', npoints=str(len(plan.b.points)),
        types='__start_dsu_newtypes', ntypes=str(ntypes)).replace(', .', ',\n    .'))
    info = {'program': os.path.basename(plan.b.program), 'from': plan.a.name,
            'from_id': plan.a.id, 'to': plan.b.name, 'to_id': plan.b.id,
            'ndefs': ndefs, 'nimports': nimports, 'nupdates': nupdates,
            'nxforms': nxforms, 'nstates': nstates, 'ntypes': ntypes, 'summary': summary,
            'types': [{'type': t.name, 'key': t.key, 'old': t.old.layout,
                       'new': t.new.layout, 'size': t.sizes['size']}
                      for t in plan.types.values()],
            'transformers': transformers}
    lines.append('static const char __dsu_info_text[] __attribute__((used, section("dsu_info"))) '
                 '= %s;' % c_string(json.dumps(info)))
    return '\n'.join(lines) + '\n'
