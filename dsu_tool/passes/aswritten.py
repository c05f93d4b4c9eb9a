"""Functions compiled as written (frontend.aswritten): what their text
needs from the generated unit, and what the unit records of them.

The function's text is the user's, so it names things by their source
names.  In the generated unit:
  - the function keeps its own name, storage class and symbol (the
    passes leave its declarations as written: model.tu.Entity.as_written),
    so calls to it from anywhere reach it as in the ordinary build;
  - file-scope statics it names are renamed by the passes (passes.promote):
    their names in its text are renamed the same way;
  - the struct types it may use are kept unwrapped: its code reads their
    fields, takes their sizes and initialises them as written, with none
    of what the passes do for a wrapped type.  Which ones, is approximated
    from its tokens: every type named by an identifier in it (a tag, a
    typedef, the type of a global or function it names), closed over
    the types of their fields.  They are listed for the whole program
    (manifest 'require_fixed'), since another unit must not wrap them
    either;
  - it gets a slot that nothing ever writes and a table entry, so that
    patch code can call it (a patch binds to the program only through
    the table).
"""

import re

from pycparser import c_ast

from ..codegen.records import func_sym
from ..frontend.aswritten import original_text
from .common import declaration, pointer_to

SLOT = '__dsu_slot_%s'
_IDENT = re.compile(r'[A-Za-z_$][\w$]*')


def mark_entities(unit, model):
    """Mark the entities of the as-written functions; what each may refer
    to is every file-scope name in its tokens (a patch that changes the
    identity of one of them would have to recompile it: patchgen.diff)."""
    for name, rec in (unit.as_written or {}).items():
        ent = model.entities.get(name)
        if ent is not None:
            ent.as_written = rec.reason
            ent.refs = {model.entities[n].link for n in rec.names
                        if n in model.entities and n != name}


def keep_fixed(unit, model):
    """Keep unwrapped the structs the as-written functions may use;
    return the manifest's 'require_fixed' list."""
    required = []
    records = sorted((unit.as_written or {}).values(), key=lambda r: r.name) + list(
        unit.raw_declarations or [])
    for rec in records:
        for d in used_structs(rec.names, model):
            why = "it is used by %s '%s', which is compiled as written (%s at %s:%s)" % (
                rec.kind, rec.name, rec.reason, rec.file, rec.line)
            if d.wrapped:
                d.reason = why
            required.append({'name': d.name, 'key': d.key, 'reason': why,
                             'file': rec.file, 'line': rec.line})
    return required


def used_structs(names, model):
    by_name = {}
    for d in model.structs:
        if d.node.name:
            by_name.setdefault(d.node.name, []).append(d)
        if d.typedef:
            by_name.setdefault(d.typedef, []).append(d)
    todo, seen, found = list(names), set(), []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        texts = []
        if name in model.typedefs:
            texts.append(model.canon.of(model.typedefs[name]))
        ent = model.entities.get(name)
        if ent is not None:
            texts.append(ent.type_text)
        for d in by_name.get(name, ()):
            if d not in found:
                found.append(d)
            texts.append(d.layout)
        for text in texts:
            todo.extend(_IDENT.findall(text))
    return found


def renames(model):
    """Source name -> name in the generated unit, of the file-scope
    names the passes rename."""
    return {name: ent.link for name, ent in model.entities.items()
            if ent.link != name and not ent.as_written}


def text_of(unit, model, name):
    return original_text(unit.pre, unit.as_written[name].span, renames(model))


def slots(ctx):
    """A slot and a table entry for each reachable as-written function
    with an external definition here: patch code calls it through them."""
    for ent in ctx.model.functions():
        if not ent.as_written or ent.unreachable or ent.inline_only:
            continue
        slot = SLOT % ent.link
        slot_def = declaration(pointer_to(ent.decl.type, slot, ctx.cgen.attrs), slot,
                               fresh=True)
        slot_def.init = c_ast.ID(ent.name)
        ctx.trailer.append('__attribute__((visibility("hidden"))) %s;\n'
                           % ctx.cgen.visit(slot_def))
        ctx.registry.append(func_sym(ent, slot, ent.name))
