"""Compile the emitted patch into a shared object."""

import os
import shlex
import shutil
import subprocess

from ..frontend.errors import DsuError
from .diff import compare
from .emit import descriptor, emit_unit
from .load import ProgramVersion

PATCH_DIR = os.path.join('.dsu', 'patches')


def _run(cmd, cwd):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DsuError('compiling the patch failed:\n$ %s\n%s' % (
            ' '.join(shlex.quote(c) for c in cmd), proc.stderr.strip()))


def plan_patch(root, program, frm, to):
    a = ProgramVersion(root, frm, program)
    b = ProgramVersion(root, to, program)
    return compare(a, b)


def build_patch(root, program, frm, to, out):
    """Generate and compile the patch; return its summary."""
    plan = plan_patch(root, program, frm, to)
    summary = plan.summary()
    work = os.path.join(root, PATCH_DIR, program, '%s-to-%s' % (frm, to))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    objects, counts = [], []
    units = [u for u in plan.b.units
             if plan.patch_functions(u) or plan.patch_variables(u)]
    for i, unit in enumerate(units):
        text, count = emit_unit(plan, unit)
        counts.append(count)
        src = os.path.join(work, '%d_%s.c' % (i, os.path.basename(unit.tu)[:-2]))
        with open(src, 'w') as f:
            f.write(text)
        obj = src[:-2] + '.o'
        m = unit.manifest
        _run([m['cc']] + m['cpp_args'] + ['-fPIC', '-c', '-o', obj, src], m['cwd'])
        objects.append(obj)
    desc = os.path.join(work, 'descriptor.c')
    with open(desc, 'w') as f:
        f.write(descriptor(plan, counts, summary))
    cc = plan.b.units[0].manifest['cc'] if plan.b.units else 'cc'
    _run([cc, '-fPIC', '-c', '-o', desc[:-2] + '.o', desc], work)
    objects.append(desc[:-2] + '.o')
    tmp = out + '.tmp'
    _run([cc, '-shared', '-o', tmp] + objects, work)
    os.chmod(tmp, 0o644)     # the runtime refuses patches others can write
    os.replace(tmp, out)
    return summary
