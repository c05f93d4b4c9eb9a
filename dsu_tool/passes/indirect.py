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

Calls are redirected only after the function has been declared in the
unit, so the slot's declaration can follow the user's own (its type may
use types declared just before).
"""

from pycparser import c_ast

from ..codegen.stubs import stub_asm
from ..model.builtins import is_builtin_name
from ..model.tu import FUNC
from .common import c_string, declaration, drop_storage, pointer_to, rename_decl

BODY = '__dsu_body_%s'
SLOT = '__dsu_slot_%s'


def _patchable(ent):
    return ent is not None and ent.kind == FUNC and ent.defined and not ent.unreachable


class Indirect:
    def __init__(self, ctx):
        self.ctx = ctx
        self.declared = set()       # links whose slot is declared
        self.direct = 'direct' in ctx.enabled

    def reference(self, ent, node, call):
        if call and is_builtin_name(ent.name):
            return None      # gcc may treat the call as its builtin: keep it by name
        if call and _patchable(ent) and ent.link in self.declared:
            if self.direct and ent.link in self._direct_callees():
                return c_ast.ID(BODY % ent.link, node.coord)
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
        if not _patchable(ent):
            return
        decl = ext.decl if isinstance(ext, c_ast.FuncDef) else ext
        if self.first:
            self.first = False
            slot = SLOT % ent.link
            decls = [declaration(decl.type, ent.link),
                     declaration(pointer_to(decl.type, slot), slot, ['extern'])]
        else:
            decls = []
        if self.direct and not isinstance(ext, c_ast.FuncDef):
            # direct calls name the body: declare it, with what the
            # declaration says of the function (noinline, format...)
            attrs = self.ctx.cgen.attrs.for_body(decl)
            if decls or attrs:
                body = declaration(decl.type, BODY % ent.link, ['static'])
                decls.append(' '.join(attrs + [self.ctx.cgen.visit(body)]) + ';\n')
        if isinstance(ext, c_ast.FuncDef):
            self.ctx.functions.append((ent, ext.decl.type))
            rename_decl(ext.decl, BODY % ent.link)
            drop_storage(ext.decl, 'extern')
            ext.decl.storage = ['static'] + (ext.decl.storage or [])
            self.ctx.before.extend(decls)     # the body uses the slot
        else:
            self.ctx.after.extend(decls)

    def trailer(self):
        ctx = self.ctx
        for ent, functype in ctx.functions:
            slot = SLOT % ent.link
            slot_def = declaration(pointer_to(functype, slot), slot)
            slot_def.init = c_ast.ID(BODY % ent.link)
            ctx.trailer.append('__attribute__((visibility("hidden"))) %s;\n'
                               % ctx.cgen.visit(slot_def))
            ctx.trailer.append(stub_asm(ent.link, slot))
            ctx.registry.append(
                '{%s, %s, %s, DSU_FUNC, 0, (void **)&%s, (void *)&%s}' % (
                    c_string(ent.link), c_string(ent.hash), c_string(ent.file),
                    slot, ent.link))
