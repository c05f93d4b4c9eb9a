"""Build cost of updateability, measured against the ordinary build.

    python bench/build_cost.py [--corpus N] [--repeat R] [--json out.json]

For each example project (examples/kvd/v1, examples/layout/v1) it times a
clean `scons -j2` and a clean `scons -j2 dsu=1`, R times each, and reports
the median wall times and their ratio; then `scons patch` between two
versions.  For the pass alone it runs the updateability pass on N programs
of gcc's torture corpus (tests/corpus) and on the examples' units, and
reports preprocessed lines per second.  Figures go to a table on stdout
and, with --json, to a file beside it.  Machine, compiler and date are
printed with the table.
"""

import argparse
import json
import os
import platform
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
from dsu_tool.frontend.errors import DsuError  # noqa: E402


def env():
    e = dict(os.environ)
    e['PYTHONPATH'] = os.pathsep.join(p for p in (ROOT, e.get('PYTHONPATH')) if p)
    return e


def scons(cwd, *args):
    start = time.perf_counter()
    subprocess.run([sys.executable, '-m', 'SCons', '-Q'] + list(args), cwd=cwd, env=env(),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def clean(cwd):
    for name in ('.sconsign.dblite', '.dsu', 'build'):
        path = os.path.join(cwd, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    for dirpath, _, files in os.walk(cwd):
        for f in files:
            if f.endswith(('.o', '.a')) or f in ('kvd',):
                os.remove(os.path.join(dirpath, f))


def build_ratio(example, repeat, work):
    src = os.path.join(ROOT, 'examples', example, 'v1')
    proj = os.path.join(work, example)
    shutil.copytree(src, proj)
    subprocess.run([sys.executable, '-m', 'dsu_tool', 'init', proj], env=env(), check=True,
                   stdout=subprocess.DEVNULL)
    plain, dsu = [], []
    for _ in range(repeat):
        clean(proj)
        plain.append(scons(proj, '-j2'))
        clean(proj)
        dsu.append(scons(proj, '-j2', 'dsu=1', 'version=b'))
    shutil.rmtree(os.path.join(proj, '.dsu'))
    clean(proj)
    scons(proj, '-j2', 'dsu=1', 'version=v1')
    v2 = os.path.join(ROOT, 'examples', example, 'v2')
    for dirpath, _, files in os.walk(v2):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), v2)
            os.makedirs(os.path.dirname(os.path.join(proj, rel)), exist_ok=True)
            shutil.copy(os.path.join(dirpath, f), os.path.join(proj, rel))
    scons(proj, '-j2', 'dsu=1', 'version=v2')
    patch = scons(proj, 'patch', 'from=v1', 'to=v2')
    return statistics.median(plain), statistics.median(dsu), patch


def pass_throughput(sources, work):
    """Preprocessed lines through the pass per second (one process)."""
    lines = seconds = 0.0
    refused = 0
    for src in sources:
        d = tempfile.mkdtemp(dir=work)
        name = os.path.basename(src)
        cmd = Command(['gcc', '-O2', '-w', '-DDSU_UPDATEABLE', '-I', RUNTIME_INCLUDE,
                       '-c', '-o', os.path.join(d, 'x.o'), name])
        cwd = os.getcwd()
        os.chdir(os.path.dirname(src))      # beside its own headers
        try:
            start = time.perf_counter()
            generated, _ = run_pass(cmd, d)
            seconds += time.perf_counter() - start
            with open(generated[:-len('.dsu.c')] + '.dsu.i', encoding='latin-1') as f:
                lines += f.read().count('\n')
        except DsuError:
            refused += 1
        finally:
            os.chdir(cwd)
    return lines, seconds, refused


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--corpus', type=int, default=200)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--json')
    opts = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix='dsu-bench-')
    results = {'machine': '%s, %d cores' % (platform.machine(), os.cpu_count()),
               'gcc': subprocess.run(['gcc', '-dumpfullversion'], capture_output=True,
                                     text=True).stdout.strip(),
               'date': time.strftime('%Y-%m-%d'), 'builds': {}, 'pass': {}}
    try:
        for example in ('kvd', 'layout'):
            plain, dsu, patch = build_ratio(example, opts.repeat, work)
            results['builds'][example] = {'scons': plain, 'scons dsu=1': dsu,
                                          'ratio': dsu / plain, 'scons patch': patch}
        kvd = os.path.join(ROOT, 'examples', 'kvd', 'v1')
        sources = [os.path.join(kvd, f) for f in sorted(os.listdir(kvd)) if f.endswith('.c')]
        results['pass']['examples (kvd)'] = pass_throughput(sources, work)
        if opts.corpus:
            sys.path.insert(0, os.path.join(ROOT, 'tests', 'corpus'))
            from run import fetch, sample
            programs = fetch()
            names = sample(sorted(f for f in os.listdir(programs) if f.endswith('.c')),
                           opts.corpus)
            results['pass']['corpus'] = pass_throughput(
                [os.path.join(programs, n) for n in names], work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print('build cost, %s, gcc %s, %s (median of %d clean builds, -j2, gcc -O2)' % (
        results['machine'], results['gcc'], results['date'], opts.repeat))
    print('| project | scons | scons dsu=1 | ratio | scons patch |')
    print('|---|---|---|---|---|')
    for name, b in results['builds'].items():
        print('| %s | %.2f s | %.2f s | %.2fx | %.2f s |' % (
            name, b['scons'], b['scons dsu=1'], b['ratio'], b['scons patch']))
    print()
    print('| pass input | units | preprocessed lines | seconds | lines/s |')
    print('|---|---|---|---|---|')
    for name, (lines, seconds, refused) in results['pass'].items():
        units = len(sources) if name == 'examples (kvd)' else opts.corpus
        print('| %s | %d (%d refused) | %d | %.1f | %.0f |' % (
            name, units, refused, lines, seconds, lines / seconds if seconds else 0))
    if opts.json:
        with open(opts.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
