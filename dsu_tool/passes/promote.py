"""Names made patchable.

File-static functions and variables, and function-local statics, become
external names mangled with the source path (model.tu), so that a patch
can bind to them, two files may both define `static int valid(...)`, and
a static local keeps its value when its function is replaced.  Every
variable the unit defines is listed in the program's table (dsu_syms),
except a global register variable, which has no address.

A function compiled as written (frontend.aswritten) keeps its name and
its storage class, in its own text and in its declarations: its text is
the user's, and it is never replaced.
"""

import copy

from pycparser import c_ast

from ..codegen.records import var_sym
from ..model.tu import (VAR, Entity, LocalStaticNames, entity_hash,
                        qualifies_const)
from .common import drop_storage, rename_decl


class Promote:
    def __init__(self, ctx):
        self.ctx = ctx
        self.names = LocalStaticNames(ctx.tu_path)
        self.copies = {}

    def toplevel(self, ext, ent):
        decl = ext.decl if isinstance(ext, c_ast.FuncDef) else ext
        if ent is not None and ent.static and not ent.as_written:
            rename_decl(decl, ent.link)
            drop_storage(decl, 'static')

    def reference(self, ent, node, call):
        if ent.link != ent.name and not ent.as_written:
            return c_ast.ID(ent.link, node.coord)
        return None

    def block_extern(self, decl):
        ent = self.ctx.model.entities.get(decl.name)
        if ent is not None and ent.link != decl.name and not ent.as_written:
            rename_decl(decl, ent.link)

    def local_static(self, rewriter, decl):
        func = rewriter.function.decl.name
        link = self.names.next(func, decl.name)
        rewriter.bind(decl.name, link, decl.type)
        # one memo for all copies: the declarators of `static struct {...}
        # a, b;` keep sharing their type; and the attributes go along
        hoisted = copy.deepcopy(decl, self.copies)
        attrs = self.ctx.cgen.attrs.decls
        if id(decl) in attrs:
            attrs[id(hoisted)] = list(attrs[id(decl)])
        rename_decl(hoisted, link)
        drop_storage(hoisted, 'static')
        self.ctx.before.append(hoisted)
        model = self.ctx.model
        ent = Entity(name=decl.name, kind=VAR, link=link, static=True,
                     defined=True, decl=hoisted, owner=func,
                     file=decl.coord.file, line=decl.coord.line,
                     init_text=(self.ctx.cgen.visit(decl.init)
                                if decl.init is not None else ''),
                     const=qualifies_const(decl.type),
                     thread_local='_Thread_local' in (decl.storage or []))
        ent.type_text, ent.length = model.type_of(decl)
        ent.hash = entity_hash(ent)
        model.locals.append(ent)
        return None

    def trailer(self):
        model = self.ctx.model
        for ent in model.variables() + model.locals:
            if ent.thread_local or 'register' in (ent.decl.storage or []):
                continue   # no link-time address; a patch cannot bind to it
            self.ctx.registry.append(var_sym(ent, ent.link))
