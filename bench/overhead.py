"""Steady-state cost of updateability on compute-bound code.

    python bench/overhead.py [--runs R] [--json out.json]

Builds each program of bench/programs twice: the ordinary way (gcc -O2)
and updateable (the pass, then gcc -O2, with the runtime linked in).  For
each it counts instructions with `valgrind --tool=callgrind` (repeatable,
whatever else the machine does) on one unit of work, and takes the median
wall time of R runs on SCALE units (every program takes the number of
units as its argument, so that a run lasts long enough to time),
and prints both builds side by side with their ratio, measured in the same
run.  The updateable build has had no patch applied: this is the price of
being patchable.
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

from dsu_tool.cc import Command, run_pass  # noqa: E402
from dsu_tool.codegen.unit import RUNTIME_INCLUDE  # noqa: E402

PROGRAMS = os.path.join(ROOT, 'bench', 'programs')
CFLAGS = ['-O2']
_COLLECTED = re.compile(r'Collected\s*:\s*(\d+)')


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
    p = subprocess.run(['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null',
                        binary, '1'], capture_output=True, text=True)
    m = _COLLECTED.search(p.stderr)
    return int(m.group(1)) if m else None


def wall(binary, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([binary, str(SCALE)], stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(runs=5, work=None):
    """{program: {'same output', 'instructions': (ordinary, updateable),
    'wall': (ordinary, updateable)}} for every program of bench/programs."""
    own = work is None
    work = tempfile.mkdtemp(prefix='dsu-overhead-', dir=work)
    rows = {}
    try:
        for name in sorted(f for f in os.listdir(PROGRAMS) if f.endswith('.c')):
            plain, dsu = build(os.path.join(PROGRAMS, name), work)
            same = subprocess.run([plain], capture_output=True).stdout == \
                subprocess.run([dsu], capture_output=True).stdout
            rows[name] = {'same output': same,
                          'instructions': (instructions(plain), instructions(dsu)),
                          'wall': (wall(plain, runs), wall(dsu, runs))}
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return rows


def table(rows):
    lines = ['| program | instructions ordinary | updateable | ratio | wall ordinary | '
             'updateable | ratio | same output |',
             '|---|---|---|---|---|---|---|---|']
    for name, r in rows.items():
        (ip, iu), (wp, wu) = r['instructions'], r['wall']
        lines.append('| %s | %s | %s | %s | %.3f s | %.3f s | %.2fx | %s |' % (
            name, ip, iu, '%.3fx' % (iu / ip) if ip and iu else '?', wp, wu, wu / wp,
            'yes' if r['same output'] else 'NO'))
    return '\n'.join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--json')
    opts = ap.parse_args(argv)
    rows = measure(opts.runs)
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
