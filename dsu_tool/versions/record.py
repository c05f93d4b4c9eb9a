"""Record a program's version at link time, and read it back."""

import hashlib
import json
import os
import shutil
import subprocess

from ..analysis.updateability import update_points
from ..codegen.unit import RUNTIME_INCLUDE
from ..files import write_if_changed
from ..frontend.errors import DsuError
from .names import check_version_name
from ..codegen.literals import c_header_name, c_string as _c_string
from ..codegen.records import record

STORE = os.path.join('.dsu', 'versions')


def version_dir(root, name, program):
    return os.path.join(root, STORE, name, program)


def version_id(units):
    """Content id of a program: its units' preprocessed text and flags."""
    h = hashlib.sha1()
    for manifest, text in sorted(units, key=lambda u: u[0]['tu']):
        h.update(json.dumps([manifest['tu'], manifest['compile_args']]).encode())
        h.update(hashlib.sha1(text.encode()).digest())
    return h.hexdigest()[:20]


def default_name(root, vid):
    """The git commit when the tree is clean, else the content id."""
    try:
        dirty = subprocess.run(['git', 'status', '--porcelain'], cwd=root,
                               capture_output=True, text=True, timeout=10)
        head = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=root,
                              capture_output=True, text=True, timeout=10)
        if dirty.returncode == 0 and head.returncode == 0 and \
                not dirty.stdout.strip():
            return 'git-' + head.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return 'h' + vid[:10]


def _unit_key(tu):
    return tu.replace(os.sep, '__')


def check_struct_agreement(units):
    """A struct that one unit keeps unwrapped (its layout is observed there,
    by offsetof for example) and another wraps would have two layouts in
    one program: stop the link, naming both and the remedy."""
    seen = {}
    for manifest, _ in units:
        for s in manifest.get('structs', []):
            other = seen.setdefault(s['key'], (s, manifest['tu']))
            if other[0]['wrapped'] != s['wrapped']:
                kept, kept_tu = (s, manifest['tu']) if not s['wrapped'] else other
                wrapped_tu = other[1] if kept is s else manifest['tu']
                raise DsuError(
                    "%s is kept unwrapped in %s (%s) but wrapped in %s, so the two "
                    "would disagree on its layout; write `DSU_FIXED` after the closing "
                    "brace of its definition to keep it unwrapped in every unit"
                    % (kept['name'], kept_tu, kept['reason'], wrapped_tu),
                    kept['file'], kept['line'])


def record_version(root, program, name, manifests, out_c, unpatchable=None):
    """Store the version of PROGRAM built from MANIFESTS; write OUT_C, the
    object that tells the runtime which version it runs.  UNPATCHABLE: why
    no patch can be loaded into this build of the program (kept in the
    record; a patch from this version is refused with it), or None."""
    units = []
    for m in sorted(manifests):
        with open(m) as f:
            manifest = json.load(f)
        with open(m[:-len('.json')] + '.i', encoding='latin-1') as f:
            units.append((manifest, f.read()))
    check_struct_agreement(units)
    vid = version_id(units)
    name = check_version_name(name or default_name(root, vid))
    points = update_points([m.get('facts', {'functions': {}, 'address_taken': []})
                            for m, _ in units])
    vdir = version_dir(root, name, program)
    meta_path = os.path.join(vdir, 'version.json')
    replaced = None
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            old = json.load(f)
        if old['id'] != vid and not _ever_linked(root, program, vdir, old['id']):
            # A build that failed after recording (a link error, say):
            # no program of that record exists, so the name is free.
            replaced = old['id']
            doomed = vdir + '.replaced.tmp'
            shutil.rmtree(doomed, ignore_errors=True)
            os.rename(vdir, doomed)
            shutil.rmtree(doomed)
        elif old['id'] != vid:
            raise DsuError(
                "version '%s' of %s was already recorded from different sources "
                "(id %s, now %s); record this build under another name "
                "(version=...), or drop the old record with `dsu versions --drop %s` "
                "and build again"
                % (name, program, old['id'], vid, name))
    if not os.path.exists(meta_path):
        tmp = vdir + '.tmp'
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(os.path.join(tmp, 'units'))
        entries = []
        for manifest, text in units:
            key = _unit_key(manifest['tu'])
            with open(os.path.join(tmp, 'units', key + '.i'), 'w', encoding='latin-1') as f:
                f.write(text)
            with open(os.path.join(tmp, 'units', key + '.json'), 'w') as f:
                json.dump(manifest, f, indent=1)
            entries.append(key)
        with open(os.path.join(tmp, 'version.json'), 'w') as f:
            json.dump({'name': name, 'id': vid, 'program': program,
                       'units': entries, 'points': points, 'unpatchable': unpatchable},
                      f, indent=1)
        os.makedirs(os.path.dirname(vdir), exist_ok=True)
        os.rename(tmp, vdir)
    write_if_changed(out_c, (
        '/* Generated by dsu: the version this program runs. */\n'
        '#include %s\n'
        'const char dsu__program_name[] = %s;\n'
        'const char dsu__program_version[] = %s;\n'
        'const char dsu__program_version_id[] = %s;\n'
        % (c_header_name(os.path.join(RUNTIME_INCLUDE, 'dsu_internal.h')),
           _c_string(os.path.basename(program)), _c_string(name), _c_string(vid)))
        + points_table(points, 'section("dsu_points")'))
    write_if_changed(out_c[:-2] + '.json', json.dumps({'name': name, 'id': vid}) + '\n')
    return name, vid, replaced


LINKED = 'linked'


def _ever_linked(root, program, vdir, vid):
    """Whether a program was ever linked from the record in VDIR: marked
    by mark_linked after a link, or the program at its place holds the id
    (linked before the mark existed, or its record dropped and made again)."""
    if os.path.exists(os.path.join(vdir, LINKED)):
        return True
    try:
        with open(os.path.join(root, program), 'rb') as f:
            return vid.encode() in f.read()
    except OSError:
        return False


def mark_linked(root, program, version_json):
    """After PROGRAM linked with the version object described by
    VERSION_JSON (written by record_version): its record is no longer
    replaceable."""
    try:
        with open(version_json) as f:
            linked = json.load(f)
        linked['name'], linked['id']
    except (OSError, ValueError, KeyError, TypeError):
        return      # made by an older dsu: the record stays as it was
    vdir = version_dir(root, linked['name'], program)
    if recorded_id(root, linked['name'], program) == linked['id']:
        with open(os.path.join(vdir, LINKED), 'w'):
            pass


def points_table(points, placement):
    """C definitions of struct dsu_point entries (for the program: in the
    section dsu_points; for a patch: an array the descriptor names)."""
    out = []
    for i, p in enumerate(points):
        types = ''.join('%s, ' % _c_string(t) for t in p['restricted'])
        out.append('static const char *const __dsu_restricted_%d[] = { %sNULL };\n' % (i, types))
    entries = [record('dsu_point', file=_c_string(p['file']), line='%du' % p['line'],
                      function=_c_string(p['function']),
                      restricted='__dsu_restricted_%d' % i)
               for i, p in enumerate(points)]
    if placement.startswith('section'):
        out += ['static const struct dsu_point __dsu_point_%d __attribute__((used, %s, '
                'aligned(8))) = %s;\n' % (i, placement, e) for i, e in enumerate(entries)]
    else:
        out.append('static const struct dsu_point %s[] = { %s };\n' % (
            placement, ', '.join(entries) or '{0}'))
    return '#include <stddef.h>\n' + ''.join(out)


class Version:
    """A recorded version of a program, read back from the store."""

    def __init__(self, root, name, program):
        self.root, self.name, self.program = root, name, program
        self.dir = version_dir(root, name, program)
        meta_path = os.path.join(self.dir, 'version.json')
        if not os.path.exists(meta_path):
            known = list_versions(root)
            raise DsuError("no version '%s' of %s is recorded (known: %s); build "
                           "it with `scons dsu=1 version=%s`"
                           % (name, program, ', '.join(known) or 'none', name))
        with open(meta_path) as f:
            meta = json.load(f)
        self.id = meta['id']
        self.points = meta.get('points', [])
        self.units = []
        for key in meta['units']:
            with open(os.path.join(self.dir, 'units', key + '.json')) as f:
                manifest = json.load(f)
            self.units.append((manifest, os.path.join(self.dir, 'units', key + '.i')))


def list_versions(root):
    path = os.path.join(root, STORE)
    if not os.path.isdir(path):
        return []
    return sorted(d for d in os.listdir(path) if not d.endswith('.tmp'))


def recorded_meta(root, name, program):
    """The version.json of version NAME of PROGRAM (its path in the
    project), or None when it is not recorded."""
    try:
        with open(os.path.join(version_dir(root, name, program), 'version.json')) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and 'id' in meta else None


def recorded_id(root, name, program):
    meta = recorded_meta(root, name, program)
    return meta and meta['id']


def drop_version(root, name):
    """Remove version NAME from the store; return the programs it held.
    The program's generated version object goes too, so that the next
    build records the version again even from unchanged sources (the build
    tool would otherwise find that object up to date)."""
    check_version_name(name)
    programs = [(program, vid) for version, program, vid, _ in list_programs(root)
                if version == name]
    path = os.path.join(root, STORE, name)
    if not os.path.isdir(path):
        known = list_versions(root)
        raise DsuError("no version '%s' is recorded in %s (known: %s)"
                       % (name, root, ', '.join(known) or 'none'))
    # Renamed away first: an interrupted removal leaves no half version.
    doomed = path + '.dropped.tmp'
    shutil.rmtree(doomed, ignore_errors=True)
    os.rename(path, doomed)
    shutil.rmtree(doomed)
    for program, vid in programs:
        version_c = os.path.join(root, '.dsu', 'build', program + '.version.c')
        try:
            with open(version_c) as f:
                names_it = _c_string(vid) in f.read()
        except OSError:
            continue
        if names_it:
            os.remove(version_c)
    return [program for program, _ in programs]


def find_program_version(root, name, program_name):
    """The version.json of program PROGRAM_NAME (a base name) in version
    NAME, or None."""
    for version, program, _, _ in list_programs(root):
        if version == name and os.path.basename(program) == program_name:
            with open(os.path.join(version_dir(root, name, program), 'version.json')) as f:
                return json.load(f)
    return None


def list_programs(root):
    """(version, program, id, number of units) for each recorded build."""
    rows = []
    for name in list_versions(root):
        base = os.path.join(root, STORE, name)
        for dirpath, dirnames, filenames in os.walk(base):
            if 'version.json' in filenames:
                with open(os.path.join(dirpath, 'version.json')) as f:
                    meta = json.load(f)
                rows.append((name, meta['program'], meta['id'], len(meta['units'])))
                dirnames[:] = []
    return rows
