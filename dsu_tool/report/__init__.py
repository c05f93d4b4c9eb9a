"""A patch report for a reviewer before rollout (`dsu report PATCH`).

What the patch says about itself (its dsu_info section, read without
loading it) is completed from the project's version store when it is at
hand: the patch is planned again from the two recorded versions, as
`scons patch` planned it, which gives per changed function the text of
both versions for a diff, per changed type both layouts, what dsu
converts by itself and the generated transformer (kept under
.dsu/patches/), the developer's hand-written transformer files, and the
update points of the running version where the patch can apply (the
analysis of `dsu check`).  The recorded versions must be the ones the
patch was built from (same ids); otherwise the report says so and shows
only what the patch carries.

The terminal view (report.terminal) and the page (report.page) render
the same Report.
"""

import difflib
import os
import re
from dataclasses import dataclass, field

from ..frontend.errors import DsuError
from ..patchinfo import read_patch
from ..progress import no_progress
from .source import definition_lines, shift_hunks

KIND_WORDS = {'new': 'added function', 'changed': 'changed function',
              'signature': 'changed signature', 'renamed': 'changed linkage',
              'rebound': 'rebound function'}
VARIABLE_WORDS = {'new': 'added global', 'const': 'changed constant',
                  'kept': 'kept value', 'retyped': 'changed type of',
                  'transformed': 'transformed value'}


@dataclass
class FunctionReport:
    name: str
    kind: str                 # a KIND_WORDS key
    where: str                # file:line in the new version
    old_where: str            # file:line in the old version, or ''
    note: str
    diff: list                # unified diff lines ('' when the text is the same)


@dataclass
class TypeReport:
    name: str
    where: str
    size: int
    old_layout: str
    new_layout: str
    old_fields: list = field(default_factory=list)    # C declaration per field
    new_fields: list = field(default_factory=list)
    derived: list = field(default_factory=list)       # what dsu converts by itself
    manual: list = field(default_factory=list)        # what it cannot
    generated: str = ''       # the generated transformer's C
    hook: str = ''            # the developer's function for it
    handwritten: str = ''     # its hand-written C, '' when there is none


@dataclass
class VariableReport:
    name: str
    kind: str                 # a VARIABLE_WORDS key
    where: str
    note: str
    generated: str = ''
    hook: str = ''
    handwritten: str = ''
    initialisers: tuple = ()  # a kept value's (old, new) initialiser, whole
    #                           (the note abbreviates them)


@dataclass
class PointReport:
    where: str
    function: str
    ok: bool
    blocked_by: str           # the uses that keep the patch out, or ''


@dataclass
class Report:
    patch: str
    info: dict
    project: str = ''
    warnings: list = field(default_factory=list)
    functions: list = field(default_factory=list)
    types: list = field(default_factory=list)
    variables: list = field(default_factory=list)
    added_types: list = field(default_factory=list)
    deleted: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    points: list = field(default_factory=list)
    handwritten_files: list = field(default_factory=list)   # (path, text, active hooks)
    detailed: bool = False    # completed from the version store

    @property
    def title(self):
        i = self.info
        return 'patch %s: %s -> %s' % (i['program'], i['from'], i['to'])


def _short(text, limit=160):
    text = ' '.join((text or '0').split())
    return text if len(text) <= limit else text[:limit - 5] + ' ...'


def _where(ent):
    return '%s:%d' % (ent.file, ent.line) if ent is not None else ''


def _program_path(root, info):
    """The program's path in the project whose recorded version FROM has
    the patch's base id (a project may hold programs of the same name)."""
    from ..versions.record import list_programs
    fallback = None
    for version, program, vid, _ in list_programs(root):
        if version == info['from'] and os.path.basename(program) == info['program']:
            if vid == info['from_id']:
                return program, vid
            fallback = (program, vid)
    return fallback or (None, None)


_DISABLED = re.compile(r'^\s*#\s*if\s+0\b.*?^\s*#\s*endif\b', re.S | re.M)


def function_text(text, name):
    """The definition of function NAME in C TEXT (outside `#if 0`), from
    its head to the first closing brace at the start of a line."""
    live = _DISABLED.sub('', text)
    m = re.search(r'^[^\n;{}]*\b%s\s*\([^;{]*\)\s*\{.*?^\}[^\n]*$' % re.escape(name),
                  live, re.S | re.M)
    return m.group(0) if m else ''


def _generated_block(texts, head, marker):
    """The generated function whose head matches HEAD and whose body
    holds MARKER (a regular expression)."""
    for text in texts:
        for m in re.finditer(r'^%s\n\{\n.*?^\}$' % head, text, re.S | re.M):
            if re.search(marker, m.group(0)):
                return m.group(0)
    return ''


def _diff(old_text, new_text, old_where, new_where):
    if old_text == new_text:
        return []
    return list(difflib.unified_diff(old_text.splitlines(), new_text.splitlines(),
                                     old_where, new_where, lineterm='', n=3))


def _function_diff(plan, c):
    """The diff of a function between the versions: of its source lines
    as recorded (report.source), else of the text dsu compared."""
    frm, to = plan.a.name, plan.b.name
    sides = []
    for version, ent in ((plan.a, c.old), (plan.b, c.ent)):
        if ent is None:
            sides.append((0, [], '(none)'))
            continue
        u = version.unit_of[ent.link]
        found = definition_lines(u.manifest, u.i_path, ent.file, ent.line)
        sides.append(found + (ent.file,) if found else None)
    if None not in sides:
        (old_first, old_lines, old_file), (new_first, new_lines, new_file) = sides
        return shift_hunks(list(difflib.unified_diff(
            old_lines, new_lines, '%s %s' % (frm, old_file), '%s %s' % (to, new_file),
            lineterm='', n=3)), old_first, new_first)
    old_body = plan.a.unit_of[c.old.link].body(c.old) if c.old is not None else ''
    new_body = plan.b.unit_of[c.link].body(c.ent)
    return _diff(old_body, new_body,
                 '%s %s (as dsu reads it)' % (frm, _where(c.old) or '(none)'),
                 '%s %s (as dsu reads it)' % (to, _where(c.ent)))


def _points(report, root, program, types):
    from ..versions.record import recorded_meta
    meta = recorded_meta(root, report.info['from'], program)
    if meta is None:
        return
    for p in meta.get('points', []):
        conflict = set(types) & set(p['restricted'])
        uses = '; '.join('%s in %s (%s:%d)' % (u['type'].split('@')[0], u['function'],
                                               u['file'], u['line'])
                         for u in p['uses'] if u['type'] in conflict)
        report.points.append(PointReport('%s:%d' % (p['file'], p['line']), p['function'],
                                         not conflict, uses))


def _detail(report, root, program, progress):
    """Complete REPORT from the version store of the project ROOT."""
    from ..codegen.cgen import CGen
    from ..patchgen.build import PATCH_DIR, developer_hooks, plan_patch
    from ..patchgen.diff import FILLED_FROM_OLD, hook_name
    from ..patchgen.transform import field_rules, ident, transformer_file
    info = report.info
    frm, to = info['from'], info['to']
    plan = plan_patch(root, program, frm, to, progress)
    if (plan.a.id, plan.b.id) != (info['from_id'], info['to_id']):
        report.warnings.append(
            'the versions recorded in %s (%s id %s, %s id %s) are not the ones this patch '
            'was built from (ids %s, %s): only what the patch carries is shown'
            % (root, frm, plan.a.id, to, plan.b.id, info['from_id'], info['to_id']))
        return
    report.detailed = True
    cgen = CGen(lines=False)
    order = list(KIND_WORDS)
    for c in sorted(plan.functions.values(), key=lambda c: (order.index(c.kind), c.link)):
        report.functions.append(FunctionReport(
            c.ent.name, c.kind, _where(c.ent), _where(c.old), c.note,
            _function_diff(plan, c)))
    # what `scons patch` generated, and what the developer wrote
    work = os.path.join(root, PATCH_DIR, program, '%s-to-%s' % (frm, to))
    generated = []
    if os.path.isdir(work):
        for name in sorted(os.listdir(work)):
            if name.startswith('xf') and name.endswith('.c'):
                with open(os.path.join(work, name), encoding='latin-1') as f:
                    generated.append(f.read())
    hooks = developer_hooks(root, program, frm, to)
    stem = transformer_file(root, program, frm, to)[:-len('.xf.c')]
    handwritten = []
    xf_dir = os.path.dirname(stem)
    if os.path.isdir(xf_dir):
        for name in sorted(os.listdir(xf_dir)):
            path = os.path.join(xf_dir, name)
            if path.startswith(stem) and name.endswith('.xf.c'):
                with open(path, encoding='latin-1') as f:
                    text = f.read()
                active = sorted(h for h in hooks if function_text(text, h))
                report.handwritten_files.append((os.path.relpath(path, root), text, active))
                handwritten.append(text)

    def own_code(hook):
        for text in handwritten:
            found = function_text(text, hook)
            if found:
                return found
        return ''

    if not generated and (plan.types or any(c.kind in FILLED_FROM_OLD
                                            for c in plan.variables.values())):
        report.warnings.append('the generated transformers are not in %s (the patch was '
                               'built elsewhere?); run `scons patch from=%s to=%s` here to '
                               'see them' % (os.path.relpath(work, root), frm, to))
    for key, t in sorted(plan.types.items()):
        _, derived, manual = field_rules(t.old.fields, t.new.fields,
                                         t.old_unit.model.canon, t.new_unit.model.canon)
        hook = 'dsu_transform_' + ident(t.name)
        report.types.append(TypeReport(
            t.name, '%s:%d' % (t.new.node.coord.file, t.new.node.coord.line),
            t.sizes['size'], t.old.layout, t.new.layout,
            [cgen.visit(f) + ';' for f in t.old.fields],
            [cgen.visit(f) + ';' for f in t.new.fields], derived, manual,
            _generated_block(generated, r'static int __dsu_xf_\d+\(void \*obj\)',
                             r'\b%s \*new = obj;' % re.escape(t.new.name)),
            hook, own_code(hook)))
    vorder = list(VARIABLE_WORDS)
    for c in sorted(plan.variables.values(), key=lambda c: (vorder.index(c.kind), c.link)):
        if c.kind not in VARIABLE_WORDS:
            continue
        name = c.ent.name if not c.ent.owner else '%s (static in %s)' % (c.ent.name,
                                                                          c.ent.owner)
        note = c.note
        if c.kind == 'const' and c.old is not None:
            note += ': %s -> %s' % (_short(c.old.init_text), _short(c.ent.init_text))
        v = VariableReport(name, c.kind, _where(c.ent), note)
        if c.kind == 'kept' and c.old is not None and c.old.init_text != c.ent.init_text:
            v.initialisers = (c.old.init_text or '0', c.ent.init_text or '0')
        if c.kind in FILLED_FROM_OLD:
            v.generated = _generated_block(
                generated, r'static int __dsu_st_\d+\(void\)',
                r'= &__dsu_pvar_%s;' % re.escape(c.link))
            v.hook = hook_name(c.ent)
            v.handwritten = own_code(v.hook)
        report.variables.append(v)
    report.added_types = ['%s (%s:%d)' % (d.name, d.node.coord.file, d.node.coord.line)
                          for d in sorted(plan.new_types, key=lambda d: d.key)]
    report.deleted = ['%s %s (%s:%d)' % (e.kind, e.name, e.file, e.line)
                      for e in sorted(plan.deleted, key=lambda e: e.link)]
    report.notes = list(plan.notes)


def make_report(patch, project=None, progress=no_progress):
    """The Report of the patch file PATCH; PROJECT: the project directory
    whose version store completes it (None: only what the patch carries);
    PROGRESS hears how far reading the versions is (progress.Progress).
    Raises patchinfo.PatchInfoError for a file that is not a patch."""
    report = Report(patch, read_patch(patch))
    info = report.info
    types = [t['key'] for t in info.get('types', [])]
    if project is not None:
        root = os.path.abspath(project)
        report.project = root
        program, vid = _program_path(root, info)
        if program is None:
            report.warnings.append(
                'no recorded version %s of %s in %s: build the report in the project '
                'that made the patch (--project DIR) to see the source changes'
                % (info['from'], info['program'], root))
        else:
            if vid != info['from_id']:
                report.warnings.append(
                    'version %s of %s recorded in %s has id %s; the patch was built for '
                    'id %s: a process running it refuses the patch'
                    % (info['from'], info['program'], root, vid, info['from_id']))
            else:
                _points(report, root, program, types)
            try:
                _detail(report, root, program, progress)
            except DsuError as e:
                report.warnings.append('the version store of %s cannot be read back: %s'
                                       % (root, e))
    if not report.detailed:
        report.types = [TypeReport(t['type'], '', t['size'], t['old'], t['new'])
                        for t in info.get('types', [])]
    return report
