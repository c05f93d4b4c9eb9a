"""Build cost of updateability, measured against the ordinary build.

    python bench/build_cost.py [--corpus N] [--repeat R] [--project NAME] [--json out.json]

For kvd (examples/kvd, v1 -> v2) and redis 2.0.0 -> 2.0.1 (when its
sources are there: tests/realprogs/redis_chain.py, with the flags of its
Makefile) it times, with -j2, R times each and gives the medians:
a clean build and a rebuild after a one-line edit (a function appended
to one unit), ordinary (`scons`) and updateable (`scons dsu=1`); `scons
patch` between the two versions (the first run after the two builds, and
again); and a patch that is refused (a field added to a struct that
code running at every update point uses).  The runtime comes from the
cache of compiled runtimes, as in every build but the first on a
machine.  For the pass alone it runs the updateability pass on N
programs of gcc's torture corpus (tests/corpus) and on the examples'
units, and reports preprocessed lines per second.  Figures go to a table
on stdout and, with --json, to a file beside it.  Machine, compiler,
date and load average are printed with the table.
"""

import argparse
import importlib.util
import json
import os
import platform
import resource
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


def scons(cwd, *args, cache=None, ok=True):
    """(wall seconds, CPU seconds) that `scons -Q ARGS` took, the CPU time
    of it and every process it waited for (on a loaded machine, wall time
    grows with the others' work; CPU time much less); it must succeed (OK)
    or fail."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    p = subprocess.run([sys.executable, '-m', 'SCons', '-Q'] + list(args), cwd=cwd,
                       env=env(cache), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if (p.returncode == 0) != ok:
        raise RuntimeError('scons %s %s in %s:\n%s' % (
            ' '.join(args), 'failed' if ok else 'did not fail', cwd, p.stdout[-3000:]))
    return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def clean(cwd, keep_versions=False):
    """A fresh checkout: no objects, no SCons database, no .dsu (its
    versions too, unless KEEP_VERSIONS)."""
    for name in ('.sconsign.dblite', 'build'):
        path = os.path.join(cwd, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    dsu = os.path.join(cwd, '.dsu')
    if os.path.isdir(dsu):
        for name in os.listdir(dsu):
            if not (keep_versions and name in ('versions', 'layouts.json', 'fixed.json')):
                path = os.path.join(dsu, name)
                (shutil.rmtree if os.path.isdir(path) else os.remove)(path)
    for dirpath, _, files in os.walk(cwd):
        for f in files:
            path = os.path.join(dirpath, f)
            with open(path, 'rb') as fh:
                elf = fh.read(4) == b'\x7fELF'     # objects, archives' members, programs
            if elf or f.endswith('.a'):
                os.remove(path)


def _copy_over(src, dst):
    for dirpath, _, files in os.walk(src):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), src)
            os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
            shutil.copy(os.path.join(dirpath, f), os.path.join(dst, rel))


def _replace(path, old, new):
    with open(path) as f:
        text = f.read()
    assert old in text, '%s: %r not found' % (path, old)
    with open(path, 'w') as f:
        f.write(text.replace(old, new, 1))


class Project:
    """A program in two versions (put(dir, 0 or 1) writes one), the unit
    a one-line edit goes to, and a change to version 2 that `scons patch`
    must refuse: (file, old text, new text).  In kvd a static variable
    becomes global (a change of linkage, refused)."""

    def __init__(self, name, put, edit, refuse, flags=()):
        self.name, self.put, self.edit, self.refuse = name, put, edit, refuse
        self.flags = list(flags)


def _example(name, edit, refuse):
    def put(proj, which):
        _copy_over(os.path.join(ROOT, 'examples', name, ('v1', 'v2')[which]), proj)
    return Project(name, put, edit, refuse)


def _redis():
    """redis 2.0.0 -> 2.0.1 with the flags of its Makefile, as
    tests/realprogs/redis_chain.py builds it (None without the sources).
    The refused change: a field added to the event loop's struct, which
    aeMain, running at every update point, uses."""
    spec = importlib.util.spec_from_file_location(
        'redis_chain', os.path.join(ROOT, 'tests', 'realprogs', 'redis_chain.py'))
    chain = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(chain)
    src = chain.sources()
    if src is None:
        return None

    def put(proj, which):
        if not os.path.exists(os.path.join(proj, 'SConstruct')):
            with open(os.path.join(proj, 'SConstruct'), 'w') as f:
                f.write(chain.SCONSTRUCT)
        chain.put_release(src, proj, ('2.0.0', '2.0.1')[which])
    return Project('redis 2.0', put, 'redis.c',
                   ('ae.h', '    int stop;\n', '    int stop;\n    int bench_extra;\n'))


PROJECTS = [lambda: _example('kvd', 'main.c', (
    'main.c', 'static unsigned long total_requests', 'unsigned long total_requests')), _redis]


def _median_of(repeat, before, timed):
    """Medians of (wall, CPU) over REPEAT runs of TIMED."""
    times = []
    for i in range(repeat):
        before(i)
        times.append(timed(i))
    return tuple(statistics.median(t[k] for t in times) for k in (0, 1))


def project_costs(project, repeat, work):
    """Seconds, medians of REPEAT: clean build and rebuild after a one-line
    edit, ordinary and updateable; `scons patch` from version 1 to 2 (the
    first after the two builds, and again); a patch that is refused."""
    proj = os.path.join(work, project.name.replace(' ', '_'))
    os.makedirs(proj)
    project.put(proj, 0)
    subprocess.run([sys.executable, '-m', 'dsu_tool', 'init', proj], env=env(), check=True,
                   stdout=subprocess.DEVNULL)
    # the first updateable build on a machine also compiles the runtime;
    # later builds copy it from the cache, as every timed one here does
    cache = os.path.join(work, project.name.replace(' ', '_') + '-cache')
    scons(proj, '-j2', 'dsu=1', 'version=warm', cache=cache)
    shutil.rmtree(os.path.join(proj, '.dsu'))
    edited = os.path.join(proj, project.edit)
    with open(edited) as f:
        original = f.read()

    def edit(i):
        with open(edited, 'w') as f:
            f.write(original + 'int dsu_bench_edit(void);\nint dsu_bench_edit(void) '
                    '{ return %d; }\n' % i)

    def build(dsu, name):
        return scons(proj, '-j2', *(['dsu=1', 'version=' + name] if dsu else []),
                     cache=cache)

    r = {}
    for dsu, label in ((False, 'scons'), (True, 'scons dsu=1')):
        r[label + ' clean'] = _median_of(repeat, lambda i: clean(proj),
                                         lambda i: build(dsu, 'c%d' % i))
        clean(proj)
        build(dsu, 'e')
        r[label + ' edit'] = _median_of(repeat, edit, lambda i: build(dsu, 'e%d' % i))
        with open(edited, 'w') as f:
            f.write(original)
    # the patch: both versions built updateable, as a developer does
    clean(proj)
    build(True, 'v1')
    project.put(proj, 1)
    build(True, 'v2')
    patch = ('patch', 'from=v1', 'to=v2')
    r['scons patch first'] = scons(proj, *patch, cache=cache)
    r['scons patch'] = _median_of(repeat, lambda i: None,
                                  lambda i: scons(proj, *patch, cache=cache))
    path, old, new = project.refuse
    _replace(os.path.join(proj, path), old, new)
    build(True, 'v3')
    refuse = ('patch', 'from=v2', 'to=v3')
    r['refused patch first'] = scons(proj, *refuse, cache=cache, ok=False)
    r['refused patch'] = _median_of(repeat, lambda i: None,
                                    lambda i: scons(proj, *refuse, cache=cache, ok=False))
    r = {k: v for k, (v, _) in r.items()} | {k + ' cpu': c for k, (_, c) in r.items()}
    r['ratio'] = r['scons dsu=1 clean'] / r['scons clean']
    return r


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


def measure(corpus=200, repeat=3, work=None, names=None):
    """{'builds': {example: {...}}, 'pass': {input: (lines, seconds, refused,
    gcc -c, pass + gcc -c, units)}} with the machine, compiler and date."""
    own = work is None
    work = tempfile.mkdtemp(prefix='dsu-bench-', dir=work)
    results = {'machine': '%s, %d cores' % (platform.machine(), os.cpu_count()),
               'gcc': subprocess.run(['gcc', '-dumpfullversion'], capture_output=True,
                                     text=True).stdout.strip(),
               'date': time.strftime('%Y-%m-%d'), 'repeat': repeat, 'builds': {},
               'load': os.getloadavg()[0],
               'pass': {}}
    try:
        for make in PROJECTS:
            project = make()
            if project is not None and (names is None or project.name in names):
                results['builds'][project.name] = project_costs(project, repeat, work)
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
    lines = ['| project | build | scons | scons dsu=1 | ratio | CPU: scons | CPU: dsu=1 | '
             'ratio |', '|---|---|---|---|---|---|---|---|']
    row = '| %s | %s | %s | %.2f s | %.2fx | %s | %.2f s | %.2fx |'
    for name, b in results['builds'].items():
        for what, key in (('clean', 'clean'), ('after a one-line edit', 'edit')):
            plain, dsu = b['scons ' + key], b['scons dsu=1 ' + key]
            cplain, cdsu = b['scons ' + key + ' cpu'], b['scons dsu=1 ' + key + ' cpu']
            lines.append(row % (name, what, '%.2f s' % plain, dsu, dsu / plain,
                                '%.2f s' % cplain, cdsu, cdsu / cplain))
        for what, key in (('scons patch', 'scons patch'), ('refused patch', 'refused patch'),
                          ('scons patch, the first after the builds', 'scons patch first'),
                          ('refused patch, the first after the builds',
                           'refused patch first')):
            lines.append(row % (name, what, '', b[key], b[key] / b['scons clean'], '',
                                b[key + ' cpu'], b[key + ' cpu'] / b['scons clean cpu']))
    lines.append('')
    lines.append('(a patch\'s ratio is against the clean ordinary build)')
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
    ap.add_argument('--project', action='append', help='only this project (repeatable)')
    opts = ap.parse_args(argv)
    results = measure(opts.corpus, opts.repeat, names=opts.project)
    print('build cost, %s, gcc %s, %s (median of %d, -j2, load %.1f at the start)' % (
        results['machine'], results['gcc'], results['date'], opts.repeat, results['load']))
    print(table(results))
    if opts.json:
        with open(opts.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0

if __name__ == '__main__':
    sys.exit(main())
