"""What a recorded version lets a patch change (`dsu report VERSION`).

`scons dsu=1` builds every program: what the pass cannot make
updateable is recorded with its reason instead of refused.  This reads
that record back for the developer, per program of the version:

- each struct type: updateable (wrapped: a patch may change its layout)
  or fixed (its layout is the ordinary build's and stays so), with why
  and where;
- each function: replaceable (it gets a slot) or compiled as written
  (a patch cannot change it), with why and where;
- each update point, and the types a patch may not change there because
  code that can still be running after it uses them.

The same counts end every `scons dsu=1` as one line (summary_line).
"""

import json
import os
from dataclasses import dataclass, field

from ..frontend.errors import DsuError
from ..model.tu import function_label
from ..versions.record import STORE, list_programs, version_dir


@dataclass
class TypeEntry:
    name: str
    where: str
    updateable: bool
    reason: str               # why it is fixed, '' when updateable


@dataclass
class FunctionEntry:
    name: str
    where: str
    replaceable: bool
    reason: str               # why it is compiled as written, '' when replaceable


@dataclass
class VersionReport:
    version: str
    program: str
    id: str
    units: int
    types: list = field(default_factory=list)         # TypeEntry
    functions: list = field(default_factory=list)     # FunctionEntry
    points: list = field(default_factory=list)        # as recorded (version.json)
    unpatchable: str = ''     # why no patch can be loaded at all, or ''

    @property
    def counts(self):
        return (sum(t.updateable for t in self.types),
                sum(not t.updateable for t in self.types),
                sum(f.replaceable for f in self.functions),
                sum(not f.replaceable for f in self.functions))


def _where(file, line):
    return '%s:%s' % (file, line) if line else file


def _place(where):
    """Sort key of a file:line: by file, then by line as a number."""
    file, _, line = where.rpartition(':')
    return (file, int(line)) if line.isdigit() else (where, 0)


def function_name(name):
    """The user's name for a function: an extracted loop body is 'the loop
    in F', a continuation 'F after G()' (their own names are the pass's)."""
    return function_label(name)


def from_manifests(version, program, vid, manifests, points, unpatchable=None):
    """The report of one program built from unit MANIFESTS (dicts)."""
    rep = VersionReport(version, program, vid, len(manifests), points=points,
                        unpatchable=unpatchable or '')
    types = {}
    for m in manifests:
        for s in m.get('structs', []):
            # a header's struct is in every unit that includes it: once,
            # fixed if any unit keeps it fixed (the link makes them agree)
            entry = types.get(s['key'])
            if entry is None or (entry.updateable and not s['wrapped']):
                types[s['key']] = TypeEntry(s['name'], _where(s['file'], s['line']),
                                            bool(s['wrapped']), s.get('reason') or '')
        for f in m.get('functions', []):
            if f.get('kind', 'function') == 'function':
                rep.functions.append(FunctionEntry(function_name(f['name']),
                                                   _where(f['file'], f['line']), True, ''))
        for f in m.get('as_written', []):
            rep.functions.append(FunctionEntry(f['name'], _where(f['file'], f['line']),
                                               False, f.get('reason') or ''))
    rep.types = sorted(types.values(), key=lambda t: (t.updateable, _place(t.where), t.name))
    rep.functions.sort(key=lambda f: (f.replaceable, _place(f.where), f.name))
    return rep


def load(root, version=None, program=None):
    """The reports of VERSION (default: the one recorded last), one per
    program it holds (only PROGRAM's, a path or base name, if given)."""
    rows = list_programs(root)
    if not rows:
        raise DsuError('no versions recorded in %s; build with `scons dsu=1 version=NAME`'
                       % root)
    if version is None:
        def recorded_at(row):
            return os.path.getmtime(os.path.join(version_dir(root, row[0], row[1]),
                                                 'version.json'))
        version = max(rows, key=recorded_at)[0]
    chosen = [r for r in rows if r[0] == version and (
        program is None or program in (r[1], os.path.basename(r[1])))]
    if not chosen:
        known = sorted({r[0] for r in rows})
        what = "version '%s'" % version + (' of %s' % program if program else '')
        raise DsuError('no %s is recorded in %s (known versions: %s)'
                       % (what, os.path.join(root, STORE), ', '.join(known)))
    reports = []
    for name, prog, _, _ in chosen:
        vdir = version_dir(root, name, prog)
        with open(os.path.join(vdir, 'version.json')) as f:
            meta = json.load(f)
        manifests = []
        for key in meta['units']:
            with open(os.path.join(vdir, 'units', key + '.json')) as f:
                manifests.append(json.load(f))
        reports.append(from_manifests(name, prog, meta['id'], manifests,
                                      meta.get('points', []), meta.get('unpatchable')))
    return reports


def summary_line(rep):
    """One line for the end of `scons dsu=1`."""
    up, fixed, repl, written = rep.counts
    text = '%d struct type%s updateable, %d fixed; %d function%s replaceable' % (
        up, '' if up == 1 else 's', fixed, repl, '' if repl == 1 else 's')
    if written:
        text += ', %d compiled as written' % written
    return '%s %s: %s; see `dsu report %s`' % (rep.program, rep.version, text, rep.version)


def _type_name(key):
    return key.split('@')[0]


def render_text(reports, show_all=True):
    out = []
    for rep in reports:
        up, fixed, repl, written = rep.counts
        out.append('%s, version %s (id %s), %d unit%s' % (
            rep.program, rep.version, rep.id, rep.units, '' if rep.units == 1 else 's'))
        if rep.unpatchable:
            out.append('  no patch can be loaded into this build: %s' % rep.unpatchable)
        out.append('')
        out.append('struct types: %d updateable, %d fixed' % (up, fixed))
        width = max([len(t.name) for t in rep.types] + [4])
        for t in rep.types:
            if t.updateable:
                out.append('  updateable  %-*s  %s' % (width, t.name, t.where))
            else:
                out.append('  fixed       %-*s  %s' % (width, t.name, t.where))
                out.append('              %s' % t.reason)
        out.append('')
        out.append('functions: %d replaceable, %d compiled as written' % (repl, written))
        width = max([len(f.name) for f in rep.functions] + [4])
        for f in rep.functions:
            if not f.replaceable:
                out.append('  as written  %-*s  %s' % (width, f.name, f.where))
                out.append('              %s' % f.reason)
            elif show_all:
                out.append('  replaceable %-*s  %s' % (width, f.name, f.where))
        out.append('')
        out.append('update points: %d' % len(rep.points))
        for p in rep.points:
            head = '  %s:%d in %s' % (p['file'], p['line'], p['function'])
            if not p['restricted']:
                out.append(head + ': a patch may change any updateable type here')
                continue
            out.append(head + ': a patch may not change %s here, in use by code that '
                       'may still run after it:' % ', '.join(
                           _type_name(t) for t in p['restricted']))
            for u in p.get('uses', []):
                out.append('      %s in %s (%s:%d)' % (_type_name(u['type']), u['function'],
                                                     u['file'], u['line']))
        out.append('')
    return '\n'.join(out)


def to_json(reports):
    """Format 1 of `dsu report VERSION --json` (see jsonout for the rules
    of a format)."""
    return {'format': 1, 'command': 'report', 'programs': [{
        'program': r.program, 'version': r.version, 'version_id': r.id,
        'unpatchable': r.unpatchable or None,
        'types': [{'name': t.name, 'where': t.where, 'updateable': t.updateable,
                   'reason': t.reason or None} for t in r.types],
        'functions': [{'name': f.name, 'where': f.where, 'replaceable': f.replaceable,
                       'reason': f.reason or None} for f in r.functions],
        'points': [{'file': p['file'], 'line': p['line'], 'function': p['function'],
                    'restricted': [_type_name(t) for t in p['restricted']]}
                   for p in r.points]} for r in reports]}
