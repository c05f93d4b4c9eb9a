"""Steady-state cost of updateability on compute-bound code.

    python bench/overhead.py [--runs R] [--json out.json]

Builds each program of bench/programs three ways: the ordinary way (gcc
-O2), updateable (the pass, then gcc -O2, with the runtime linked in), and
updateable with every struct the program defines marked DSU_FIXED (the
cost of being patchable without the cost of wrapping).  A program is a
single .c file, or a directory with an SConstruct (several units, built
with scons as a project would be).  For each build it counts
instructions with `valgrind --tool=callgrind` (repeatable, whatever else
the machine does) on one unit of work, takes the median wall time of R
runs on SCALE units (every program takes the number of units as its
argument, so that a run lasts long enough to time), and reads the static
data (.data + .bss) off the binary; it prints the builds side by side with
their ratios, measured in the same run.  The updateable builds have had no
patch applied: this is the price of being patchable.
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'bench'))

import common  # noqa: E402
from dsu_tool.cc import Command, run_pass  # noqa: E402
from dsu_tool.codegen.unit import RUNTIME_INCLUDE  # noqa: E402

PROGRAMS = os.path.join(ROOT, 'bench', 'programs')
CFLAGS = ['-O2']


BUILDS = ('ordinary', 'updateable', 'fixed')
_STRUCT_DEF = re.compile(r'(\bstruct\s+\w+\s*\{[^{}]*\})(\s*;)')


def all_fixed(text):
    """TEXT with every struct definition marked DSU_FIXED (a struct with
    a struct or union defined inside is left as it is)."""
    out, n = _STRUCT_DEF.subn(r'\1 DSU_FIXED\2', text)
    return '#include <dsu.h>\n' + out if n else text


def programs(only=None):
    """(name, path) of each program of bench/programs: .c files and
    directories holding an SConstruct; those named in ONLY if given."""
    out = []
    for f in sorted(os.listdir(PROGRAMS)):
        path = os.path.join(PROGRAMS, f)
        if only and f not in only:
            continue
        if f.endswith('.c') or os.path.exists(os.path.join(path, 'SConstruct')):
            out.append((f, path))
    return out


def build_all(path, work):
    """{build: binary} of the program at PATH, for each of BUILDS, and
    'structs': {struct name: {build: bytes per object}} when the program
    is a project."""
    if path.endswith('.c'):
        plain, dsu = build(path, work)
        name = os.path.basename(path)[:-2]
        fixed_src = os.path.join(work, 'fixed-src', name + '.c')
        os.makedirs(os.path.dirname(fixed_src), exist_ok=True)
        with open(path) as f, open(fixed_src, 'w') as g:
            g.write(all_fixed(f.read()))
        _, fixed = build(fixed_src, os.path.join(work, 'fixed'))
        return {'ordinary': plain, 'updateable': dsu, 'fixed': fixed}
    return build_project(path, work)


def _scons(cwd, *args):
    subprocess.run([sys.executable, '-m', 'SCons', '-Q'] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, env=_env())


def _env():
    e = dict(os.environ)
    e['PYTHONPATH'] = os.pathsep.join(p for p in (ROOT, e.get('PYTHONPATH')) if p)
    return e


def build_project(src, work):
    """The project directory SRC (an SConstruct building one program of
    the directory's name) built the three ways with scons, and the size of
    one object of each struct it defines in each build: the updateable
    sizes as the build measured them (.dsu/layouts.json), the ordinary
    ones from a probe compiled with the project's headers."""
    name = os.path.basename(src.rstrip('/'))
    out = {}
    for build_name in BUILDS:
        d = os.path.join(work, name + '-' + build_name)
        shutil.copytree(src, d)
        if build_name == 'fixed':
            for f in os.listdir(d):
                if f.endswith(('.c', '.h')):
                    with open(os.path.join(d, f)) as g:
                        text = g.read()
                    with open(os.path.join(d, f), 'w') as g:
                        g.write(all_fixed(text))
        subprocess.run([sys.executable, '-m', 'dsu_tool', 'init', d], check=True,
                       stdout=subprocess.DEVNULL, env=_env())
        if build_name == 'ordinary':
            _scons(d, '-j2')
        else:
            _scons(d, '-j2', 'dsu=1', 'version=v1')
        out[build_name] = os.path.join(d, name)
    out['structs'] = struct_sizes(src, os.path.join(work, name + '-updateable'), work)
    return out


def struct_sizes(src, built, work):
    """{struct name: {build: bytes}} of the structs the headers of SRC
    define; the updateable size from the layouts the build at BUILT
    recorded."""
    with open(os.path.join(built, '.dsu', 'layouts.json')) as f:
        layouts = json.load(f)
    names = sorted(set(k.split('@')[0] for k in layouts))
    headers = sorted(f for f in os.listdir(src) if f.endswith('.h'))
    probe = os.path.join(work, 'probe.c')
    with open(probe, 'w') as f:
        f.write('#include <stdio.h>\n')
        f.writelines('#include "%s"\n' % h for h in headers)
        f.write('int main(void)\n{\n')
        f.writelines('    printf("%%zu\\n", sizeof(%s));\n' % n for n in names)
        f.write('    return 0;\n}\n')
    exe = os.path.join(work, 'probe')
    subprocess.run(['gcc', '-I', src, '-I', RUNTIME_INCLUDE, '-o', exe, probe], check=True)
    plain = subprocess.run([exe], capture_output=True, text=True, check=True).stdout.split()
    out = {}
    for n, size in zip(names, plain):
        wrapped = [v['size'] for k, v in layouts.items() if k.split('@')[0] == n]
        out[n] = {'ordinary': int(size), 'updateable': wrapped[0], 'fixed': int(size)}
    return out


def static_size(binary):
    """Bytes of .data and .bss (with the other writable sections that
    `size` counts there) of BINARY."""
    p = subprocess.run(['size', binary], capture_output=True, text=True, check=True)
    fields = p.stdout.splitlines()[1].split()
    return int(fields[1]) + int(fields[2])


_runtime_static = {}


def runtime_static(binary, work):
    """The static data that the runtime itself brings into BINARY: 0 when
    it is not linked in (a program without an update point, linked with
    the runtime's archive), else what it adds to an empty program.  Most
    of it is the control channel's connection buffers, in .bss: never
    touched before a request comes, so not resident."""
    syms = subprocess.run(['nm', binary], capture_output=True, text=True).stdout
    if not re.search(r' T dsu__update_point$', syms, re.M):
        return 0
    if 'size' not in _runtime_static:
        d = os.path.join(work, 'runtime-size')
        os.makedirs(d)
        src = os.path.join(d, 'empty.c')
        with open(src, 'w') as f:
            f.write('int main(void)\n{\n    return 0;\n}\n')
        plain, dsu = build(src, d)
        _runtime_static['size'] = static_size(dsu) - static_size(plain)
    return _runtime_static['size']


def build(src, work):
    """(ordinary binary, updateable binary) of SRC."""
    name = os.path.basename(src)[:-2]
    d = os.path.join(work, name)
    os.makedirs(d)
    shutil.copy(src, d)
    plain = os.path.join(d, name + '.plain')
    # dsu.h is on the path of the ordinary build too, as in a project that
    # adopted dsu: there DSU_update() is empty and DSU_FIXED means nothing
    subprocess.run(['gcc'] + CFLAGS + ['-I', RUNTIME_INCLUDE, '-o', plain, name + '.c'],
                   cwd=d, check=True)
    obj = os.path.join(d, name + '.o')
    cmd = Command(['gcc'] + CFLAGS + ['-DDSU_UPDATEABLE', '-I', RUNTIME_INCLUDE, '-c',
                                      '-o', obj, name + '.c'])
    cwd = os.getcwd()
    os.chdir(d)
    try:
        generated, _ = run_pass(cmd, d, cache=False)
    finally:
        os.chdir(cwd)
    subprocess.run(cmd.with_source(generated), cwd=d, check=True)
    version = os.path.join(d, 'version.c')
    with open(version, 'w') as f:
        f.write('const char dsu__program_name[] = "b", dsu__program_version[] = "v1", '
                'dsu__program_version_id[] = "x";\n')
    updateable = os.path.join(d, name + '.dsu')
    subprocess.run(['gcc'] + CFLAGS + ['-pthread', '-I', RUNTIME_INCLUDE, '-o', updateable,
                    obj, version, os.path.join(os.path.dirname(RUNTIME_INCLUDE),
                                               'dsu_runtime.c'), '-ldl'], check=True)
    return plain, updateable


SCALE = 20      # units of work in a timed run


def instructions(binary):
    """Instructions BINARY runs on one unit of work; None without valgrind."""
    if shutil.which('valgrind') is None:
        return None
    p = subprocess.run(common.callgrind() + [binary, '1'], capture_output=True, text=True)
    try:
        return common.collected(p.stderr, binary)
    except RuntimeError:
        return None


def wall(binary, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([binary, str(SCALE)], stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(runs=5, work=None, only=None):
    """{program: {'same output', 'instructions', 'wall', 'static': (ordinary,
    updateable, fixed)}} for every program of bench/programs."""
    own = work is None
    work = tempfile.mkdtemp(prefix='dsu-overhead-', dir=work)
    rows = {}
    try:
        for name, path in programs(only):
            bins = build_all(path, os.path.join(work, name))
            binaries = [bins[b] for b in BUILDS]
            outputs = [subprocess.run([b], capture_output=True).stdout for b in binaries]
            rows[name] = {'same output': all(o == outputs[0] for o in outputs),
                          'instructions': tuple(instructions(b) for b in binaries),
                          'wall': tuple(wall(b, runs) for b in binaries),
                          'static': tuple(static_size(b) for b in binaries),
                          'runtime static': tuple(runtime_static(b, work) for b in binaries)}
            if 'structs' in bins:
                rows[name]['structs'] = bins['structs']
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return rows


def _ratio(a, b, digits=3):
    return '%.*fx' % (digits, b / a) if a and b else '?'


def table(rows):
    lines = ['| program | instructions ordinary | updateable | ratio | all DSU_FIXED | ratio | '
             'wall ratio | wall ratio, DSU_FIXED | static data ordinary | updateable | '
             'ratio | the same without the runtime\'s own | same output |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for name, r in rows.items():
        (ip, iu, ifx), (wp, wu, wf) = r['instructions'], r['wall']
        sp, su, _ = r['static']
        rt = r['runtime static'][1]
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s | %d | %d | %s | %s | %s |' % (
            name, ip, iu, _ratio(ip, iu), ifx, _ratio(ip, ifx), _ratio(wp, wu, 2),
            _ratio(wp, wf, 2), sp, su, _ratio(sp, su, 2), _ratio(sp, su - rt, 2),
            'yes' if r['same output'] else 'NO'))
    return '\n'.join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--json')
    ap.add_argument('--only', help='comma-separated programs of bench/programs')
    opts = ap.parse_args(argv)
    rows = measure(opts.runs, only=opts.only.split(',') if opts.only else None)
    gcc = subprocess.run(['gcc', '-dumpfullversion'], capture_output=True, text=True).stdout
    print('steady-state overhead, %s, %d cores, gcc %s -O2, %s (no patch applied; '
          'wall: median of %d)' % (platform.machine(), os.cpu_count(), gcc.strip(),
                                   time.strftime('%Y-%m-%d'), opts.runs))
    print(table(rows))
    if opts.json:
        with open(opts.json, 'w') as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
