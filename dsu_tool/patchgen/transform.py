"""Type and state transformers: generated where they can be derived,
completed by the developer in a transformer file where they cannot.

A type transformer converts one object of a changed wrapped struct in
place: it copies the old object aside, clears the new one (the tag stays),
then sets each field of the new layout from the old one:
  * same name, same type: copied (arrays and structs byte for byte: a
    nested wrapped struct keeps its own tag and converts when used);
  * same name, both arithmetic (a widened int, a signedness change, an
    int that became a double): converted as by assignment;
  * same name, same element type, other length: the common part copied;
  * new fields: zero (in a global: as initialised in the new source);
    removed fields: dropped;
  * anything else (a pointer that now points elsewhere, a renamed field
    whose value matters): written by the developer.
A state transformer fills the new storage of a global whose type changed
from the old value, by the same rules.

When something cannot be derived, `scons patch` writes a template,
dsu/<PROGRAM>.<A>-to-<B>.xf.c, with one function per changed type or
global and an #error line in each that needs code, and fails until the
file compiles.
Each function the file defines is called after the generated part, with
the old and new value, and returns 0 or an error.
"""

import copy
import os
import re

from pycparser import c_ast

from ..frontend.errors import DsuError
from ..codegen.literals import c_comment, c_header_name, c_string
from ..codegen.records import import_record, record
from ..passes.common import copy_tree, declaration
from ..model.arrays import with_length
from ..passes.wrap import wrap_struct
from .diff import hook_name

_ARITHMETIC = re.compile(
    r'^(const |volatile )*((unsigned |signed )?(char|short|int|long|long long)|'
    r'float|double|long double|_Bool|enum \w+|__dsu_u?int128)$')


def transformer_file(root, program, frm, to, unit=None):
    """The developer's transformer file of PROGRAM (its path in the
    project) for the patch FRM -> TO: one per program, since each program
    of a project has its own types and globals (and `scons -j` builds
    their patches at once); one per home unit when several units hold
    transformers."""
    return os.path.join(root, 'dsu', '%s.%s-to-%s%s.xf.c' % (
        program, frm, to, '.' + unit if unit else ''))


def ident(name):
    return re.sub(r'\W', '_', name)


def old_name(d):
    """How the transformer file names the old layout of struct D."""
    return 'struct dsu_old_' + d.name.split()[-1] if d.name.startswith('struct ') \
        else 'dsu_old_' + d.name


def field_rules(old_fields, new_fields, canon_old, canon_new, fresh='zero'):
    """(copies, derived notes, manual notes) for a field-by-field conversion.
    Each copy is (kind, name) with kind 'assign' or 'bytes' or 'common';
    FRESH says what a new field holds."""
    old = {f.name: f for f in old_fields if f.name}
    copies, derived, manual = [], [], []
    for f in new_fields:
        if not f.name:
            manual.append('%s (an anonymous member)' % canon_new.of(f.type))
            continue
        o = old.get(f.name)
        if o is None:
            derived.append('%s: new, %s' % (f.name, fresh))
            continue
        t_old, t_new = canon_old.of(o.type), canon_new.of(f.type)
        bits = f.bitsize is not None or o.bitsize is not None
        if t_old == t_new:
            kind = 'assign' if bits or not _is_aggregate(f.type, canon_new) else 'bytes'
            copies.append((kind, f.name))
            derived.append('%s: copied' % f.name)
        elif _ARITHMETIC.match(t_old) and _ARITHMETIC.match(t_new):
            copies.append(('assign', f.name))
            derived.append('%s: converted %s -> %s' % (f.name, t_old, t_new))
        elif _same_elements(o.type, f.type, canon_old, canon_new):
            copies.append(('common', f.name))
            derived.append('%s: common part of %s -> %s' % (f.name, t_old, t_new))
        else:
            manual.append('%s (%s -> %s)' % (f.name, t_old, t_new))
    for name in old:
        if name not in {f.name for f in new_fields}:
            derived.append('%s: removed' % name)
    return copies, derived, manual


def _is_aggregate(ty, canon):
    text = canon.of(ty)
    return text.endswith(']') or (text.startswith(('struct ', 'union '))
                                  and not text.endswith('*'))


def _same_elements(a, b, canon_old, canon_new):
    return isinstance(a, c_ast.ArrayDecl) and isinstance(b, c_ast.ArrayDecl) and \
        canon_old.of(a.type) == canon_new.of(b.type)


def copy_statements(copies, old, new):
    """C statements copying fields from OLD (a struct lvalue text) into NEW
    (a pointer text)."""
    out = []
    for kind, name in copies:
        if kind == 'assign':
            out.append('    %s->%s = %s.%s;' % (new, name, old, name))
        elif kind == 'bytes':
            out.append('    __builtin_memcpy(&%s->%s, &%s.%s, sizeof %s->%s);'
                       % (new, name, old, name, new, name))
        else:
            out.append('    __builtin_memcpy(&%s->%s, &%s.%s, sizeof %s.%s < sizeof %s->%s '
                       '? sizeof %s.%s : sizeof %s->%s);' % (
                           new, name, old, name, old, name, new, name, old, name, new, name))
    return out


class Transformers:
    """The transformer file of one home unit of the patch."""

    def __init__(self, plan, emitter, xf_path):
        self.plan, self.e, self.xf_path = plan, emitter, xf_path
        self.parts = []            # C text
        self.template = []         # template functions (text)
        self.manual = []           # (function, what is missing)
        self.xforms, self.states = [], []
        self.hooks = []

    # -- types --------------------------------------------------------------

    def old_definition(self, t):
        """The old layout of T under another name, with the room it had."""
        node = copy_tree(t.old.node)
        node.decls = copy_tree(t.old.fields)
        cgen = self.e.cgen
        if t.old.name.startswith('struct '):
            node.name = old_name(t.old).split()[-1]
            holder = c_ast.Decl(None, [], [], [], [], node, None, None)
        else:
            node.name = None
            holder = c_ast.Typedef(old_name(t.old), [], ['typedef'],
                                   c_ast.TypeDecl(old_name(t.old), [], None, node))
        d = copy.copy(t.old)
        d.node = node
        wrap_struct(d, cgen, t.sizes)
        return cgen.visit(holder) + ';\n'

    def type_transformer(self, t, n):
        canon_old, canon_new = t.old_unit.model.canon, self.e.model.canon
        copies, derived, manual = field_rules(t.old.fields, t.new.fields, canon_old, canon_new)
        hook = 'dsu_transform_' + ident(t.name)
        old_t, new_t = old_name(t.old), t.new.name
        self.parts.append(self.old_definition(t))
        self.parts.append('extern int %s(const %s *old, %s *new) __attribute__((weak));\n'
                          % (hook, old_t, new_t))
        body = ['static int __dsu_xf_%d(void *obj)' % n, '{',
                '    %s old;' % old_t, '    %s *new = obj;' % new_t,
                '    __builtin_memcpy(&old, obj, sizeof old);',
                '    __builtin_memset(obj, 0, __builtin_offsetof(%s, __dsu_tag));' % new_t]
        body += copy_statements(copies, 'old', 'new')
        body += ['    return %s ? %s(&old, new) : 0;' % (hook, hook), '}', '']
        self.parts.append('\n'.join(body))
        self.xforms.append(record(
            'dsu_xform', type=c_string(t.key), from_layout=c_string(t.old.hash),
            to_layout=c_string(t.new.hash), from_tag='%uu' % t.old.tag_value(),
            to_tag='%uu' % t.new.tag_value(), size='sizeof(%s)' % new_t,
            tag_offset='__builtin_offsetof(%s, __dsu_tag)' % new_t,
            convert='__dsu_xf_%d' % n))
        where = '%s (%s:%d)' % (t.name, t.new.node.coord.file, t.new.node.coord.line)
        self._template(hook, '%s changed: %s -> %s' % (where, t.old.layout, t.new.layout),
                       'const %s *old, %s *new' % (old_t, new_t), derived, manual)

    # -- globals ----------------------------------------------------------------

    def state_transformer(self, change, n):
        ent, old = change.ent, change.old
        new_decl = ent.decl
        old_decl = old.decl
        old_t, new_t = 'dsu_old_%s_t' % ident(ent.name), 'dsu_new_%s_t' % ident(ent.name)
        cgen = self.e.cgen
        for name, decl, length in ((old_t, old_decl, old.length),
                                   (new_t, new_decl, ent.length)):
            ty = decl.type
            if isinstance(ty, c_ast.ArrayDecl) and ty.dim is None and length is not None:
                ty = with_length(ty, length)        # its size is what is copied
            td = declaration(ty, name, ['typedef'])
            self.parts.append(cgen.visit(td) + ';\n')
        cell = '__dsu_impo_%d' % n
        pvar = '__dsu_pvar_%s' % change.link
        self.parts.append('static %s *%s;\n' % (old_t, cell))
        self.parts.append('extern %s %s __attribute__((visibility("hidden")));\n' % (new_t, pvar))
        self.e.extra_imports.append(import_record(old.link, old.hash, 'DSU_IMPORT_VAR', cell))
        hook = hook_name(ent)
        self.parts.append('extern int %s(const %s *old, %s *new) __attribute__((weak));\n'
                          % (hook, old_t, new_t))
        t_old, t_new = old.type_text, ent.type_text
        body = ['static int __dsu_st_%d(void)' % n, '{',
                '    %s *new = &%s;' % (new_t, pvar)]
        derived, manual = [], []
        old_agg = self._struct_fields(old_decl.type, self.plan.a, old)
        new_agg = self._struct_fields(new_decl.type, self.plan.b, ent)
        if t_old == t_new:
            body.append('    __builtin_memcpy(new, %s, sizeof *new);' % cell)
            derived.append('copied (the running value)')
        elif _ARITHMETIC.match(t_old) and _ARITHMETIC.match(t_new):
            body.append('    *new = *%s;' % cell)
            derived.append('converted %s -> %s' % (t_old, t_new))
        elif _same_elements(old_decl.type, new_decl.type, self._canon(self.plan.a, old),
                            self._canon(self.plan.b, ent)):
            body.append('    __builtin_memcpy(new, %s, sizeof *%s < sizeof *new ? '
                        'sizeof *%s : sizeof *new);' % (cell, cell, cell))
            derived.append('common part of %s -> %s' % (t_old, t_new))
        elif old_agg is not None and new_agg is not None:
            copies, derived, manual = field_rules(
                old_agg, new_agg, self._canon(self.plan.a, old), self._canon(self.plan.b, ent),
                fresh='as initialised in the new source')
            body.append('    %s old = *%s;' % (old_t, cell))
            body += copy_statements(copies, 'old', 'new')
        else:
            manual.append('%s -> %s' % (t_old, t_new))
        body += ['    return %s ? %s(%s, new) : 0;' % (hook, hook, cell), '}', '']
        self.parts.append('\n'.join(body))
        where = "global '%s' (%s:%d)" % (ent.name, ent.file, ent.line)
        # the runtime names it in messages: the user's name, not the link's
        self.states.append(record('dsu_state', name=c_string(where),
                                  transform='__dsu_st_%d' % n))
        what = '%s changed type: %s -> %s' % (where, t_old, t_new) if t_old != t_new else \
            '%s: the initializer changed; the running value is passed here' % where
        self._template(hook, what,
                       'const %s *old, %s *new' % (old_t, new_t), derived, manual)

    def _canon(self, version, ent):
        return version.unit_of[ent.link].model.canon

    def _struct_fields(self, ty, version, ent):
        typer_typedefs = version.unit_of[ent.link].model.typedefs
        while isinstance(ty, c_ast.TypeDecl) and isinstance(ty.type, c_ast.IdentifierType) \
                and len(ty.type.names) == 1 and ty.type.names[0] in typer_typedefs:
            ty = typer_typedefs[ty.type.names[0]]
        if isinstance(ty, c_ast.TypeDecl) and isinstance(ty.type, c_ast.Struct):
            s = ty.type
            if s.decls is None and s.name:
                for key, (d, _) in version.structs.items():
                    if d.name == 'struct ' + s.name:
                        return d.fields
                return None
            return [f for f in s.decls or [] if f.name not in ('__dsu_room', '__dsu_tag')]
        return None

    # -- the developer's file ------------------------------------------------------

    def _template(self, hook, title, params, derived, manual):
        lines = ['/* %s' % c_comment(title),
                 ' * dsu already did: %s.' % c_comment('; '.join(derived) or 'nothing')]
        if manual:
            lines.append(' * It could not convert: %s.' % c_comment('; '.join(manual)))
            self.manual.append((hook, ', '.join(manual)))
        lines.append(' */')
        if not manual:
            lines.append('#if 0   /* optional: remove this line and the #endif to use it */')
        lines += ['int %s(%s)' % (hook, params), '{']
        if manual:
            lines.append('#error "dsu: set the fields listed above, then remove this line"')
        lines += ['    (void)old;', '    (void)new;', '    return 0;   /* or non-zero: the '
                  'update fails */', '}']
        if not manual:
            lines.append('#endif')
        self.template.append('\n'.join(lines) + '\n')

    def finish(self):
        """Write the template if needed; fail while code is missing.  Returns
        the C text that includes the developer's file, if any."""
        if not os.path.exists(self.xf_path):
            os.makedirs(os.path.dirname(self.xf_path), exist_ok=True)
            with open(self.xf_path, 'w') as f:
                f.write('/* %s, written by dsu for you to '
                        'complete.\n *\n * Each function gets the old value and the new '
                        'one after dsu converted\n * what it could; it sets the rest. '
                        'Remove each #error line once\n * its function is done, then '
                        'run `scons patch` again.\n */\n\n' % c_comment(
                            'Transformers for %s, %s -> %s' % (
                                self.plan.b.program, self.plan.a.name, self.plan.b.name))
                        + '\n'.join(self.template))
            if not self.manual:
                return '#include %s\n' % c_header_name(os.path.abspath(self.xf_path))
            raise DsuError('some changes need code from you: see %s (%s)' % (
                self.xf_path, '; '.join('%s: %s' % m for m in self.manual)))
        with open(self.xf_path) as f:
            text = f.read()
        missing = [h for h, _ in self.manual if not re.search(r'\b%s\s*\(' % h, text)]
        if missing:
            raise DsuError('%s must define %s (dsu cannot derive: %s)' % (
                self.xf_path, ', '.join(missing),
                '; '.join(m for h, m in self.manual if h in missing)))
        return '#include %s\n' % c_header_name(os.path.abspath(self.xf_path))
