"""Compile the emitted patch into a shared object."""

import glob
import os
import re
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

from ..cachelimit import prune
from ..frontend import parsecache
from ..frontend.errors import DsuError
from ..pickling import gc_paused
from ..elf import elf_section, unsigned_longs
from ..analysis.updateability import blocking, never_current
from .check import check_type_uses
from .diff import CHANGED, FILLED_FROM_OLD, LINE_ONLY, SIGNATURE, compare
from .emit import descriptor, emit_transformers, emit_unit
from .load import ProgramVersion
from .transform import transformer_file
from ..model.tu import continuation_label, continuation_of
from ..versions.names import check_version_name
from ..versions.record import Version
from ..progress import no_progress

PATCH_DIR = os.path.join('.dsu', 'patches')


def _run(cmd, cwd):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DsuError('compiling the patch failed:\n$ %s\n%s' % (
            ' '.join(shlex.quote(c) for c in cmd), proc.stderr.strip()))


def _compile(work, stem, text, unit):
    src = os.path.join(work, stem + '.c')
    with open(src, 'w', encoding='latin-1') as f:
        f.write(text)
    obj = src[:-2] + '.o'
    m = unit.manifest
    _run([m['cc']] + m['cpp_args'] + ['-fPIC', '-c', '-o', obj, src], m['cwd'])
    return obj


def _processors():
    """The processors this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _transformer_homes(plan):
    """unit of B -> (type changes, retyped globals) whose transformers it holds."""
    homes = {}
    for t in plan.types.values():
        homes.setdefault(t.new_unit, ([], []))[0].append(t)
    for c in plan.variables.values():
        if c.kind in FILLED_FROM_OLD:
            homes.setdefault(plan.b.unit_of[c.link], ([], []))[1].append(c)
    return homes


def _check_sizes(plan, objects):
    """Every wrapped type must have, in the patch, the size and tag offset
    it has in the running program: a new layout must fit in the room."""
    by_tag = {}
    for key, (d, _) in plan.b.structs.items():
        by_tag[d.tag_value()] = d
    for obj in objects:
        raw = elf_section(obj, 'dsu_sizes')
        values = unsigned_longs(raw) if raw else []
        for i in range(0, len(values) - 2, 3):
            tag, size, tag_offset = values[i:i + 3]
            d = by_tag.get(tag)
            kept = plan.kept_sizes(d.key) if d else None
            if kept and (size, tag_offset) != (kept['size'], kept['tag_offset']):
                coord = d.node.coord
                raise DsuError(
                    '%s does not fit in the room its objects have in version %s: they '
                    'are %d bytes with the version tag at byte %d, the new fields '
                    'need the tag at byte %d (%d bytes).  Keep the old fields and put '
                    'what is new behind a pointer, or make this change in a new '
                    'struct; a fresh build of %s lays out the new size.' % (
                        d.name, plan.a.name, kept['size'], kept['tag_offset'],
                        tag_offset, size, plan.b.name), coord.file, coord.line)


_DISABLED = re.compile(r'^\s*#\s*if\s+0\b.*?^\s*#\s*endif\b', re.S | re.M)
_HOOK = re.compile(r'\b(dsu_transform_\w+)\s*\(')


def developer_hooks(root, program, frm, to):
    """The transformer functions the developer's files of PROGRAM for
    FRM -> TO define (outside `#if 0` blocks, as the templates leave them)."""
    stem = transformer_file(root, program, frm, to)[:-len('.xf.c')]
    hooks = set()
    for path in glob.glob(glob.escape(stem) + '*.xf.c'):
        with open(path, encoding='latin-1') as f:
            hooks |= set(_HOOK.findall(_DISABLED.sub('', f.read())))
    return hooks


def plan_patch(root, program, frm, to, progress=no_progress, full=False):
    check_version_name(frm, 'from')
    check_version_name(to, 'to')
    a = ProgramVersion(root, frm, program, progress)
    b = ProgramVersion(root, to, program, progress)
    progress('comparing %s and %s' % (frm, to))
    return compare(a, b, developer_hooks(root, program, frm, to), full)


def _note_running_forever(plan):
    """Say so when a changed function is running at every update point
    (main, and the function that holds the main loop): the call that is
    running keeps its old code, and the new code runs only if the
    function is called again, which for main never happens.  What a
    running function does after the call that leads to the update points
    is a continuation (passes.continuations), and takes changes, unless
    it could not be made one, or the change gives it other variables."""
    old_links = {(c.old.link if c.old is not None else c.link): c
                 for c in plan.functions.values() if c.kind in (CHANGED, SIGNATURE)
                 and c.note != LINE_ONLY}   # nothing to miss where only __LINE__ moved
    running = never_current(plan.a.points, set(plan.a.functions))
    for link in sorted(set(running) & set(old_links)):
        c = old_links[link]
        origin, file, line = _origin(plan, c)
        chain = [n for k, n in enumerate(running[link]) if k == 0 or n != running[link][k - 1]]
        again = 'main is never called again' if origin == 'main' else \
            'only a later call of %s runs the new code' % origin
        part = ''
        if continuation_of(c.ent.name):
            part = ' after %s (%s:%d)' % (continuation_label(c.ent.name).split(' after ', 1)[1],
                                          c.ent.file, c.ent.line)
        kept = plan.a.unit_of[link].kept_in_place.get(origin)
        plan.notes.append(
            '%s (%s:%d) is running at every update point of %s%s, so the running '
            'call keeps its old code%s and %s; move the changed code into a function '
            'called from the loop, or into the loop body%s' % (
                origin, file, line, plan.a.name,
                ' (called as %s)' % ' -> '.join(chain) if len(chain) > 1 else '', part, again,
                '; its code after %s (%s) stays in it as well, because %s' % (
                    '%s()' % kept.callee if kept.callee else 'its loop', kept.where(),
                    kept.reason) if kept else ''))
    _note_continuations_apart(plan, running)


def _origin(plan, c):
    """The user's function whose code the changed function C runs, and
    its file and line (in the new version)."""
    cont = continuation_of(c.ent.name)
    if cont is None:
        return c.ent.name, c.ent.file, c.ent.line
    unit = plan.b.unit_of[c.link]
    for ent in unit.functions().values():
        if ent.name == cont[0]:
            return ent.name, ent.file, ent.line
    return cont[0], c.ent.file, c.ent.line


def _note_continuations_apart(plan, running):
    """A continuation whose variables changed is a new function: the
    running code that calls the old one keeps calling it."""
    callers = {}
    for u in plan.a.units:
        for link, f in u.model.facts['functions'].items():
            for callee in f['calls']:
                callers.setdefault(callee, set()).add(link)
    for link, c in sorted(plan.functions.items()):
        if c.kind != SIGNATURE or not continuation_of(c.ent.name) or \
                not callers.get(c.old.link, set()) & set(running):
            continue
        origin, file, line = _origin(plan, c)
        old, new = _variables(c.old), _variables(c.ent)
        why = []
        if set(new) - set(old):
            why.append('now uses %s, declared before the call, which the running %s does '
                       'not pass on to it' % (', '.join(sorted(set(new) - set(old))), origin))
        if set(old) - set(new):
            why.append('no longer uses %s, which the running %s passes to it'
                       % (', '.join(sorted(set(old) - set(new))), origin))
        if not why:
            why.append('the type of a variable it uses, or the type %s returns, changed'
                       % origin)
        plan.notes.append(
            '%s (%s:%d): the change to its code %s (%s:%d) cannot take effect in the '
            'running process, where %s is running at every update point of %s: that code %s; '
            'it takes a restart' % (
                origin, file, line, continuation_label(c.ent.name).split(' ', 1)[1],
                c.ent.file, c.ent.line, origin, plan.a.name, ' and '.join(why)))


def _variables(ent):
    """The variables of its function a continuation ENT is given."""
    ty = ent.decl.type if ent.decl is not None else None
    params = ty.args.params if getattr(ty, 'args', None) is not None else []
    return [p.name[len('__dsu_p_'):] if p.name.startswith('__dsu_p_') else p.name
            for p in params if getattr(p, 'name', None)]


def build_patch(root, program, frm, to, out, force=False, progress=no_progress,
                full=False, jobs=None, part_size=None):
    """Generate and compile the patch; return its summary.  FORCE builds a
    patch that the updateability analysis says no update point can take
    (the runtime will refuse it too; useful to see that, and for tests).
    FULL replaces every function and constant of the program, changed or
    not (diff.compare): a full replacement.  PROGRESS hears of each stage
    (progress.Progress).  JOBS: compiles at once (default: one per
    processor this process may run on); a unit's patch code is cut into
    up to JOBS files of at least PART_SIZE characters of source each
    (emit.PART_TEXT by default)."""
    jobs = max(1, jobs) if jobs else _processors()
    try:
        with gc_paused():         # (dsu_tool.pickling)
            return _build_patch(root, program, frm, to, out, force, progress, full, jobs,
                                part_size)
    finally:
        parsecache.finish_background()       # the units it kept, for the next patch
        try:
            prune(root)       # the parses it kept (a bad bound: the link says so)
        except DsuError:
            pass


def _no_point(frm, blocked):
    return DsuError('no update point of %s can take this patch: the types it '
                    'changes are used by code that may still be running at every '
                    'update point:\n  %s\nMove an update point to where none of '
                    'this code is active (a loop head whose body uses the types is '
                    'fine: the body is extracted into its own function)'
                    % (frm, '\n  '.join(blocked)))


def _blocked_by_records(root, program, frm, to):
    """What blocking() says of the patch, from the two versions' records
    alone (the layouts each unit's compile recorded), before any unit is
    read: a patch no update point can take is refused at once.  None
    when a point can take it, or when the records show a change the
    comparison refuses for another reason (it says why, as before)."""
    check_version_name(frm, 'from')
    check_version_name(to, 'to')
    a, b = Version(root, frm, program), Version(root, to, program)

    def structs(v):
        found = {}
        for manifest, _ in v.units:
            for st in manifest.get('structs', []):
                found.setdefault(st['key'], st)
        return found
    old, changed = structs(a), []
    for key, new in structs(b).items():
        was = old.get(key)
        if was is None or was['hash'] == new['hash'] and was['wrapped'] == new['wrapped']:
            continue
        if not (was['wrapped'] and new['wrapped']):
            return None
        changed.append(key)
    return blocking(a.points, changed)


def _build_patch(root, program, frm, to, out, force, progress, full, jobs, part_size):
    blocked = None if force else _blocked_by_records(root, program, frm, to)
    if blocked:
        raise _no_point(frm, blocked)
    plan = plan_patch(root, program, frm, to, progress, full)
    blocked = blocking(plan.a.points, plan.types)
    if blocked and not force:
        raise _no_point(frm, blocked)
    _note_running_forever(plan)
    summary = plan.summary()
    work = os.path.join(root, PATCH_DIR, program, '%s-to-%s' % (frm, to))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    progress('checking the uses of changed types')
    check_type_uses(plan, lambda u: u.parse())
    counts = []
    units = [u for u in plan.b.units
             if plan.patch_functions(u) or plan.patch_variables(u)]
    # each unit compiles while the next is written, and beside the others;
    # a large one is written in parts that compile side by side
    with ThreadPoolExecutor(jobs) as pool:
        compiles = []
        for i, unit in enumerate(units):
            progress('compiling', i, len(units))
            for part, (text, count) in enumerate(emit_unit(plan, unit, jobs, part_size)):
                counts.append(count)
                compiles.append(pool.submit(_compile, work, '%d_%s%s' % (
                    i, os.path.basename(unit.tu)[:-2], '.%d' % part if part else ''),
                    text, unit))
        transformers = []
        homes = _transformer_homes(plan)
        for i, (unit, (types, retyped)) in enumerate(homes.items()):
            progress('compiling transformers', i, len(homes))
            xf = transformer_file(root, program, frm, to, None if len(homes) == 1
                                  else os.path.basename(unit.tu)[:-2])
            text, count = emit_transformers(plan, unit, types, retyped, xf)
            counts.append(count)
            compiles.append(pool.submit(_compile, work, 'xf%d_%s' % (
                i, os.path.basename(unit.tu)[:-2]), text, unit))
            transformers += ['%s: generated%s' % (t.name, ' + ' + os.path.relpath(xf, root)
                                                  if os.path.exists(xf) else '')
                             for t in types]
            transformers += ["global '%s': generated%s" % (c.ent.name, ' + ' + os.path.relpath(
                xf, root) if os.path.exists(xf) else '') for c in retyped]
        desc = os.path.join(work, 'descriptor.c')
        with open(desc, 'w') as f:
            f.write(descriptor(plan, counts, summary, transformers))
        cc = plan.b.units[0].manifest['cc'] if plan.b.units else 'cc'
        described = pool.submit(_run, [cc, '-fPIC', '-c', '-o', desc[:-2] + '.o', desc], work)
        # the first to fail, in the order they were written
        objects = [c.result() for c in compiles]
        described.result()
    _check_sizes(plan, objects)
    objects.append(desc[:-2] + '.o')
    progress('linking')
    tmp = os.path.abspath(out) + '.tmp'     # the link runs in WORK
    # no text relocations in a patch either (see scons.tool): the link fails
    # -nostartfiles: no _init, _fini or constructors; the runtime refuses a
    # patch that would run code of its own when it is loaded
    _run([cc, '-shared', '-nostartfiles', '-Wl,-z,text', '-o', tmp] + objects, work)
    os.chmod(tmp, 0o644)     # the runtime refuses patches others can write
    os.replace(tmp, out)
    return summary
