"""Function indirection.

Every function the unit defines gets a slot, a pointer initialised to its
body.  The body is renamed `__dsu_body_<link>` and made static; the
function's own symbol becomes a forwarding stub (codegen.stubs) that jumps
through the slot, so callers in other units, in libraries, and function
pointers taken earlier all reach the newest body.  A patch installs a new
body by writing the slot.

Calls inside the unit go through the slot too, or, with the 'direct'
option, straight to the body (model.tu.called_directly; not from a
function around an update point, analysis.facts), where gcc can inline
them as in the ordinary build.  The patch generator then replaces
a changed function's direct callers along with it (patchgen.diff), and
the updateability analysis counts what they call as code that may still
run after an update (analysis.updateability).

An inline definition that gives the unit no external definition (C99
`inline`, gnu89 `extern inline`: model.tu) is left as it is, as the
ordinary build emits no symbol for it; calls to it stay direct, and the
unit that holds the external definition gives the function its slot.

A function compiled as written (frontend.aswritten) keeps its own
symbol and is called directly; passes.aswritten gives it the table
entry through which patch code calls it.

With the 'slots' option, a call to a function that the unit only
declares (in the project's own code) goes straight through that
function's slot too, `call *slot(%rip)`, which costs what a direct call
costs, instead of calling the stub, which jumps through the slot: two
more instructions a call.  The slot is hidden: the unit that defines the
function defines it.  A function that no unit of the program defines
(one of a library, or of a unit compiled without the pass) gets a weak
slot in the version object, holding its address (versions.record: from
the slots that the objects still use after gcc optimised them, so a
call that gcc removed never needs the function).  The stub stays for
pointers taken to the function and for callers outside the program.

Calls are redirected only after the function has been declared in the
unit, so the slot's declaration can follow the user's own (its type may
use types declared just before).
"""

import re

from pycparser import c_ast

from ..codegen.records import func_sym
from ..codegen.stubs import stub_asm
from ..frontend.gnu import ASM_CALL
from ..model.builtins import is_builtin_name
from ..model.tu import FUNC
from .common import (copy_tree, calls_any, declaration, drop_storage, nodes, pointer_to,
                     rename_decl)

BODY = '__dsu_body_%s'
SLOT = '__dsu_slot_%s'
ENTRY = '__dsu_entry_%s'


def _patchable(ent):
    return (ent is not None and ent.kind == FUNC and ent.defined and not ent.unreachable
            and not ent.inline_only and not ent.as_written)


# what a declaration may say that gives the function another symbol, or
# none at all: its calls then stay as written
# (and a function that returns twice, as setjmp does, is called as written:
# gcc must see it is called)
_OWN_SYMBOL = re.compile(r'__asm|\b(__)?(alias|weakref|weak|ifunc|returns_twice)(__)?\b')
_NORETURN = re.compile(r'\b(__)?noreturn(__)?\b')


def _attributes(ent, model, attrs):
    """The attribute text of every file-scope declaration of ENT."""
    decls = model.file_decls.get(ent.name) or [ent.decl]
    return ' '.join(a for d in decls for a in attrs.decls.get(id(d), []))


def is_noreturn(ent, model, attrs):
    """Does a declaration of function ENT say that it does not return?"""
    return bool(_NORETURN.search(_attributes(ent, model, attrs)))


def _slot_text(ctx, ent, decl, hidden=True):
    """C text of DECL, the declaration or definition of ENT's slot: hidden
    (gcc reads it at its RIP-relative address, with no load from the GOT)
    and, when ENT does not return, noreturn: a call through a pointer
    declared noreturn is one to a function that does not return, as a
    direct call is (-Wreturn-type, and code)."""
    return '%s%s%s;\n' % ('__attribute__((visibility("hidden"))) ' if hidden else '',
                           '__attribute__((noreturn)) '
                           if is_noreturn(ent, ctx.model, ctx.cgen.attrs) else '',
                           ctx.cgen.visit(decl))


def _external(ent, unit, model, attrs):
    """Is ENT a function that the unit only declares, in the project's own
    code, whose calls can go through its slot (the 'slots' option)?"""
    return (ent is not None and ent.kind == FUNC and not ent.defined and not ent.static
            and ent.link == ent.name and not is_builtin_name(ent.name)
            and ent.decl is not None and unit.is_project(ent.decl)
            and not _OWN_SYMBOL.search(_attributes(ent, model, attrs)))


class Indirect:
    def __init__(self, ctx):
        self.ctx = ctx
        self.declared = set()       # links whose slot is declared
        self.direct = 'direct' in ctx.enabled
        self.slots = 'slots' in ctx.enabled
        self.entries = set()        # links whose slot holds a copy of the body
        self.external = set()       # links of declared functions whose slot is declared

    def reference(self, ent, node, call):
        if call and is_builtin_name(ent.name):
            return None      # gcc may treat the call as its builtin: keep it by name
        if call and _patchable(ent) and ent.link in self.declared:
            if self.direct and ent.link in self._direct_callees():
                return c_ast.ID(BODY % ent.link, node.coord)
            return c_ast.ID(SLOT % ent.link, node.coord)
        if call and ent is not None and ent.link in self.external:
            return c_ast.ID(SLOT % ent.link, node.coord)
        return None

    def _direct_callees(self):
        """What the function being rewritten calls directly (its facts)."""
        cur = self.ctx.current
        if cur is None:
            return ()
        return self.ctx.model.facts['functions'].get(cur.link, {}).get('direct', ())

    def prepare(self, ext, ent):
        # Mark the function declared before its body is rewritten, so that
        # a recursive call is redirected too.
        if _patchable(ent):
            self.first = ent.link not in self.declared
            self.declared.add(ent.link)

    def toplevel(self, ext, ent):
        if self.slots and not isinstance(ext, c_ast.FuncDef) and \
                ent is not None and ent.link not in self.external and \
                _external(ent, self.ctx.unit, self.ctx.model, self.ctx.cgen.attrs):
            self._declare_external(ext, ent)
            return
        if not _patchable(ent):
            return
        decl = ext.decl if isinstance(ext, c_ast.FuncDef) else ext
        if self.first:
            self.first = False
            slot = SLOT % ent.link
            attrs = self.ctx.cgen.attrs
            decl_slot = declaration(pointer_to(decl.type, slot, attrs), slot, ['extern'],
                                    fresh=True)
            decls = [declaration(decl.type, ent.link, attrs=attrs),
                     _slot_text(self.ctx, ent, decl_slot, hidden=False)]
        else:
            decls = []
        if self.direct and not isinstance(ext, c_ast.FuncDef):
            # direct calls name the body: declare it, with what the
            # declaration says of the function (noinline, format...)
            attrs = self.ctx.cgen.attrs.for_body(decl)
            if decls or attrs:
                body = declaration(decl.type, BODY % ent.link, ['static'],
                                   attrs=self.ctx.cgen.attrs)
                decls.append(' '.join(attrs + [self.ctx.cgen.visit(body)]) + ';\n')
        if isinstance(ext, c_ast.FuncDef):
            self.ctx.functions.append((ent, ext.decl.type))
            rename_decl(ext.decl, BODY % ent.link)
            drop_storage(ext.decl, 'extern')
            ext.decl.storage = ['static'] + (ext.decl.storage or [])
            self.ctx.before.extend(decls)     # the body uses the slot
            if self._own_entry(ext, ent):
                self.entries.add(ent.link)
                self.ctx.after.append(self._copy(ext, ENTRY % ent.link))
        else:
            # The stub, in asm, is the external definition: a C declaration
            # that still said `inline` would name an inline function that
            # is never defined.
            decl.funcspec = [f for f in decl.funcspec or [] if f != 'inline']
            self.ctx.after.extend(decls)

    def _declare_external(self, decl, ent):
        """The slot of ENT, a function defined elsewhere, declared after
        its declaration DECL."""
        self.external.add(ent.link)
        slot = SLOT % ent.link
        decl_slot = declaration(pointer_to(decl.type, slot, self.ctx.cgen.attrs), slot,
                                ['extern'], fresh=True)
        self.ctx.after.append(_slot_text(self.ctx, ent, decl_slot))

    def _own_entry(self, funcdef, ent):
        """Does the slot of ENT get a copy of the body?  For a static
        function called directly from one place, so that gcc can inline
        it there as it does in the ordinary build.  Not when the body
        holds asm (its labels would be defined twice) or function-local
        statics stay inside it (without 'promote': two copies)."""
        if not self.direct or 'promote' not in self.ctx.enabled or \
                ent.link not in self.ctx.model.facts.get('called_once', ()):
            return False
        return not calls_any(funcdef, (ASM_CALL,))

    def _copy(self, funcdef, name):
        """C text of a copy of FUNCDEF named NAME, with its attributes,
        calling through slots."""
        attrs = self.ctx.cgen.attrs.decls
        dup = copy_tree(funcdef)
        added = []
        for old, new in zip(nodes(funcdef), nodes(dup)):
            if id(old) in attrs:
                attrs[id(new)] = attrs[id(old)]
                added.append(id(new))
        rename_decl(dup.decl, name)
        for n in nodes(dup.body):
            # its calls take the slots, so they add no call site to the
            # bodies, which gcc can then inline where they are called once
            if isinstance(n, c_ast.FuncCall) and isinstance(n.name, c_ast.ID) and \
                    n.name.name.startswith(BODY % ''):
                n.name.name = SLOT % n.name.name[len(BODY % ''):]
        try:
            return self.ctx.cgen.toplevel(dup)
        finally:
            for key in added:       # the copy goes away: so must its ids
                del attrs[key]

    def trailer(self):
        ctx = self.ctx
        for ent, functype in ctx.functions:
            slot = SLOT % ent.link
            slot_def = declaration(pointer_to(functype, slot, ctx.cgen.attrs), slot,
                                   fresh=True)
            slot_def.init = c_ast.ID((ENTRY if ent.link in self.entries else BODY)
                                     % ent.link)
            ctx.trailer.append(_slot_text(ctx, ent, slot_def))
            ctx.trailer.append(stub_asm(ent.link, slot))
            ctx.registry.append(func_sym(ent, slot, ent.link))
