"""Build cost of updateability, measured against the ordinary build.

    python bench/build_cost.py [--corpus N] [--repeat R] [--json out.json]

For each example project (examples/kvd/v1, examples/layout/v1) it times a
clean `scons -j2` and a clean `scons -j2 dsu=1`, R times each, and reports
the median wall times and their ratio (the runtime comes from the cache
of compiled runtimes, as in every build but the first on a machine; that
first one is timed too); then `scons patch` between two versions.  For the pass alone it runs the updateability pass on N programs
of gcc's torture corpus (tests/corpus) and on the examples' units, and
reports preprocessed lines per second.  Figures go to a table on stdout
and, with --json, to a file beside it.  Machine, compiler and date are
printed with the table.
"""

import argparse
import importlib.util
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


def env(cache=None):
    e = dict(os.environ)
    e['PYTHONPATH'] = os.pathsep.join(p for p in (ROOT, e.get('PYTHONPATH')) if p)
    if cache:
        e['DSU_CACHE_DIR'] = cache      # where the compiled runtime is kept
    return e


def scons(cwd, *args, cache=None):
    start = time.perf_counter()
    subprocess.run([sys.executable, '-m', 'SCons', '-Q'] + list(args), cwd=cwd,
                   env=env(cache),
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
    # the first updateable build on a machine also compiles the runtime;
    # later clean builds copy it from the cache (an empty one here)
    cache = os.path.join(work, example + '-cache')
    clean(proj)
    cold = scons(proj, '-j2', 'dsu=1', 'version=b', cache=cache)
    plain, dsu = [], []
    for _ in range(repeat):
        clean(proj)
        plain.append(scons(proj, '-j2'))
        clean(proj)
        dsu.append(scons(proj, '-j2', 'dsu=1', 'version=b', cache=cache))
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
    return statistics.median(plain), statistics.median(dsu), cold, patch


def _compile_seconds(cmd, cwd):
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, capture_output=True)
    return time.perf_counter() - start


def pass_throughput(sources, work):
    """Preprocessed lines through the pass per second (one process), and
    the compile time of each unit both ways: the ordinary `gcc -c` against
    the pass plus the compile of what it generates (units the pass takes)."""
    lines = seconds = 0.0
    refused = 0
    plain = updateable = 0.0
    for src in sources:
        # a copy of the unit's directory (its headers come along) is the
        # project root: nothing is written beside the real sources
        d = os.path.join(tempfile.mkdtemp(dir=work), 'p')
        shutil.copytree(os.path.dirname(src), d, ignore=lambda _, names: [
            n for n in names if n.endswith('.c') and n != os.path.basename(src)])
        name = os.path.basename(src)
        cmd = Command(['gcc', '-O2', '-w', '-DDSU_UPDATEABLE', '-I', RUNTIME_INCLUDE,
                       '-c', '-o', os.path.join(d, 'x.o'), name])
        cwd = os.getcwd()
        os.chdir(d)
        try:
            start = time.perf_counter()
            # the unit's own directory is its project root: code outside
            # the root would be taken for an outside header
            generated, _ = run_pass(cmd, d, cache=False)
            took = time.perf_counter() - start
            seconds += took
            with open(generated[:-len('.dsu.c')] + '.dsu.i', encoding='latin-1') as f:
                lines += f.read().count('\n')
            plain += _compile_seconds(cmd.argv, os.getcwd())
            updateable += took + _compile_seconds(cmd.with_source(generated), os.getcwd())
        except DsuError:
            refused += 1
        finally:
            os.chdir(cwd)
    return lines, seconds, refused, plain, updateable


def measure(corpus=200, repeat=3, work=None):
    """{'builds': {example: {...}}, 'pass': {input: (lines, seconds, refused,
    gcc -c, pass + gcc -c, units)}} with the machine, compiler and date."""
    own = work is None
    work = tempfile.mkdtemp(prefix='dsu-bench-', dir=work)
    results = {'machine': '%s, %d cores' % (platform.machine(), os.cpu_count()),
               'gcc': subprocess.run(['gcc', '-dumpfullversion'], capture_output=True,
                                     text=True).stdout.strip(),
               'date': time.strftime('%Y-%m-%d'), 'repeat': repeat, 'builds': {},
               'pass': {}}
    try:
        for example in ('kvd', 'layout'):
            plain, dsu, cold, patch = build_ratio(example, repeat, work)
            results['builds'][example] = {'scons': plain, 'scons dsu=1': dsu,
                                          'ratio': dsu / plain, 'scons patch': patch,
                                          'scons dsu=1, runtime compiled': cold}
        kvd = os.path.join(ROOT, 'examples', 'kvd', 'v1')
        sources = [os.path.join(kvd, f) for f in sorted(os.listdir(kvd)) if f.endswith('.c')]
        results['pass']['examples (kvd)'] = pass_throughput(sources, work) + (len(sources),)
        if corpus:
            # by path: bench/run.py has the same module name
            spec = importlib.util.spec_from_file_location(
                'dsu_corpus_run', os.path.join(ROOT, 'tests', 'corpus', 'run.py'))
            corpus_run = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(corpus_run)
            programs = corpus_run.fetch()
            names = corpus_run.sample(sorted(f for f in os.listdir(programs) if f.endswith('.c')),
                           corpus)
            results['pass']['corpus'] = pass_throughput(
                [os.path.join(programs, n) for n in names], work) + (len(names),)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return results


def table(results):
    lines = ['| project | scons | scons dsu=1 | ratio | the first scons dsu=1 (runtime '
             'compiled) | ratio | scons patch |', '|---|---|---|---|---|---|---|']
    for name, b in results['builds'].items():
        cold = b['scons dsu=1, runtime compiled']
        lines.append('| %s | %.2f s | %.2f s | %.2fx | %.2f s | %.2fx | %.2f s |' % (
            name, b['scons'], b['scons dsu=1'], b['ratio'], cold, cold / b['scons'],
            b['scons patch']))
    lines += ['', '| pass input | units | preprocessed lines | pass seconds | lines/s | '
              'gcc -c | pass + gcc -c | ratio |', '|---|---|---|---|---|---|---|---|']
    for name, (lines_, seconds, refused, plain, upd, units) in results['pass'].items():
        lines.append('| %s | %d (%d refused) | %d | %.1f | %.0f | %.1f s | %.1f s | %.1fx |' % (
            name, units, refused, lines_, seconds, lines_ / seconds if seconds else 0,
            plain, upd, upd / plain if plain else 0))
    return '\n'.join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--corpus', type=int, default=200)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--json')
    opts = ap.parse_args(argv)
    results = measure(opts.corpus, opts.repeat)
    print('build cost, %s, gcc %s, %s (median of %d clean builds, -j2, gcc -O2)' % (
        results['machine'], results['gcc'], results['date'], opts.repeat))
    print(table(results))
    if opts.json:
        with open(opts.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0

if __name__ == '__main__':
    sys.exit(main())
