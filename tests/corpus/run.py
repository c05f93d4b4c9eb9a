"""The external corpus: gcc's own torture tests, built both ways.

    python tests/corpus/run.py [--sample N] [--jobs J] [--out results.json]

Fetches Debian's gcc-12-source once (apt-get download, no install) into a
cache, extracts gcc/testsuite/gcc.c-torture/execute/*.c (single-file
programs that abort on failure and exit 0 on success), and for each one:

  1. builds and runs it the ordinary way (gcc -O2);
  2. runs the updateability pass on it, builds the generated code with
     the runtime, and runs that.

Each program lands in one category:

  passes both      both builds run, with the same exit status and output
                   (detail: the functions compiled as written, if any)
  refused          the pass stopped with a diagnostic naming file:line
  excluded         the ordinary build fails or does not pass by itself
  BROKEN OUTPUT    the pass produced C that gcc rejects (a bug, not silent)
  MISCOMPILED      the dsu build runs but fails or behaves differently
  CRASHED          the pass raised a Python exception (a bug)

A program that passes with functions compiled as written (the pass
could not rewrite them: frontend.aswritten) says which in its detail
("as written: f (reason at file:line); ..."); the table counts them on a
line of their own, within "passes both".

It prints the counts as a table, writes per-program results as JSON, and
exits 1 if anything was MISCOMPILED or CRASHED.  --sample N takes a fixed,
deterministic sample (every k-th program in name order) so CI stays fast.
"""

import argparse
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from dsu_tool.cc import Command, run_pass  # noqa: E402
from dsu_tool.codegen.unit import RUNTIME_INCLUDE  # noqa: E402
from dsu_tool.frontend.errors import DsuError  # noqa: E402
from dsu_tool.progress import Progress  # noqa: E402

PACKAGE = 'gcc-12-source'
SUBDIR = 'gcc/testsuite/gcc.c-torture/execute'
CFLAGS = ['-O2', '-w', '-fno-strict-aliasing']
LIBS = ['-lm']
RUN_TIMEOUT = 10
CATEGORIES = ['passes both', 'refused', 'excluded', 'BROKEN OUTPUT', 'MISCOMPILED', 'CRASHED']
_LOCATED = re.compile(r'^[^\s:]+:\d+(:\d+)?: error: ', re.M)


def cache_dir():
    return os.environ.get('DSU_CORPUS_CACHE') or os.path.join(
        os.path.expanduser('~'), '.cache', 'dsu-corpus')


def fetch():
    """The directory of torture programs, downloaded and extracted once."""
    cache = cache_dir()
    programs = os.path.join(cache, 'execute')
    if os.path.isdir(programs) and os.listdir(programs):
        return programs
    os.makedirs(cache, exist_ok=True)
    debs = [f for f in os.listdir(cache) if f.startswith(PACKAGE) and f.endswith('.deb')]
    if not debs:
        got = subprocess.run(['apt-get', 'download', PACKAGE], cwd=cache,
                             stdout=subprocess.DEVNULL)
        if got.returncode != 0:        # a fresh machine may have no package lists
            subprocess.run(['apt-get', 'update', '-qq'], check=True)
            subprocess.run(['apt-get', 'download', PACKAGE], cwd=cache, check=True,
                           stdout=subprocess.DEVNULL)
        debs = [f for f in os.listdir(cache) if f.startswith(PACKAGE) and f.endswith('.deb')]
    deb = os.path.join(cache, debs[0])
    listing = subprocess.run(['dpkg-deb', '-c', deb], capture_output=True, text=True,
                             check=True).stdout
    tarball = re.search(r'(\./usr/src/gcc-12/gcc-[\d.]+(-dfsg)?\.tar\.xz)', listing).group(1)
    tmp = tempfile.mkdtemp(dir=cache)
    cmd = ('dpkg-deb --fsys-tarfile "%s" | tar -x -O "%s" | tar -xJ -C "%s" '
           '--wildcards "gcc-*/%s/*.c"' % (deb, tarball, tmp, SUBDIR))
    subprocess.run(cmd, shell=True, check=True)
    top = [d for d in os.listdir(tmp) if d.startswith('gcc-')][0]
    src = os.path.join(tmp, top, SUBDIR)
    os.makedirs(programs, exist_ok=True)
    for name in os.listdir(src):
        if name.endswith('.c'):
            shutil.move(os.path.join(src, name), os.path.join(programs, name))
    shutil.rmtree(tmp)
    return programs


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, errors='replace', **kw)


_ADDRESS = re.compile(r'0x[0-9a-fA-F]{6,}')


# Some programs print memory that malloc returns uninitialised (941014-2
# does); what it holds depends on what else the process allocated first.
# glibc fills fresh allocations with a chosen byte, so both builds see the
# same contents where memory is fresh; a program whose output changes with
# that byte has no output to compare (see reference()).
def _perturbed(byte):
    return dict(os.environ, MALLOC_PERTURB_=byte)


def _execute(path, cwd, perturb='165'):
    """Exit status and output; code and data addresses that a program
    prints differ between any two builds, so they are masked."""
    try:
        p = _run([path], cwd=cwd, timeout=RUN_TIMEOUT, env=_perturbed(perturb))
        return p.returncode, _ADDRESS.sub('0x...', p.stdout)
    except subprocess.TimeoutExpired:
        return 'timeout', ''


def reference(path, cwd):
    """The ordinary build's run, or None when its output depends on what
    memory malloc leaves uninitialised holds (another fill byte, another
    output): memory the runtime recycles holds other bytes again."""
    first = _execute(path, cwd)
    return first if _execute(path, cwd, perturb='90') == first else None


_shared = {}


def _runtime_objects(work):
    """The runtime and a version stub, compiled once per worker."""
    if 'objs' not in _shared:
        rt = os.path.join(work, 'dsu_runtime.o')
        _run(['gcc', '-O2', '-c', '-fPIC', '-pthread', '-I', RUNTIME_INCLUDE, '-o', rt,
              os.path.join(os.path.dirname(RUNTIME_INCLUDE), 'dsu_runtime.c')], check=True)
        ver = os.path.join(work, 'version.c')
        with open(ver, 'w') as f:
            f.write('const char dsu__program_name[] = "t", dsu__program_version[] = "v1",'
                    ' dsu__program_version_id[] = "x";\n')
        vo = ver[:-2] + '.o'
        _run(['gcc', '-c', '-o', vo, ver], check=True)
        _shared['objs'] = [rt, vo]
    return _shared['objs']


def check(args):
    """Build and run one program both ways; return (name, category, detail)."""
    src, scratch = args
    name = os.path.basename(src)
    work = tempfile.mkdtemp(dir=scratch)
    try:
        shutil.copy(src, os.path.join(work, name))
        plain = os.path.join(work, 'plain')
        p = _run(['gcc'] + CFLAGS + ['-o', plain, name] + LIBS, cwd=work, timeout=120)
        if p.returncode != 0:
            return name, 'excluded', 'plain build fails'
        expected = reference(plain, work)
        if expected is None:
            return name, 'excluded', 'its output depends on memory malloc left uninitialised'
        if expected[0] != 0:
            return name, 'excluded', 'plain build exits %s' % (expected[0],)
        obj = os.path.join(work, name[:-2] + '.o')
        cmd = Command(['gcc'] + CFLAGS + ['-DDSU_UPDATEABLE', '-I', RUNTIME_INCLUDE,
                                          '-c', '-o', obj, name])
        cwd = os.getcwd()
        os.chdir(work)
        try:
            generated, manifest = run_pass(cmd, work)
        except DsuError as e:
            located = bool(_LOCATED.match(str(e)))
            return name, 'refused', str(e).split('\n')[0] + ('' if located else ' [no line]')
        except Exception:
            return name, 'CRASHED', traceback.format_exc(limit=6)
        finally:
            os.chdir(cwd)
        c = _run(cmd.with_source(generated), cwd=work, timeout=120)
        if c.returncode != 0:
            first = [l for l in c.stderr.splitlines() if 'error' in l][:1]
            return name, 'BROKEN OUTPUT', (first or [c.stderr[:200]])[0]
        exe = os.path.join(work, 'dsu')
        link = _run(['gcc', '-o', exe, obj] + _runtime_objects(scratch) +
                    ['-pthread', '-ldl', '-Wl,-z,text'] + LIBS, cwd=work, timeout=120)
        if link.returncode != 0:
            return name, 'BROKEN OUTPUT', 'link: ' + link.stderr.strip().split('\n')[-1]
        got = _execute(exe, work)
        if got != expected:
            return name, 'MISCOMPILED', 'exit %s (expected %s)%s' % (
                got[0], expected[0], ', other output' if got[1] != expected[1] else '')
        return name, 'passes both', '; '.join(
            '%s (%s at %s:%s)' % (r['name'], r['reason'], r['file'], r['line'])
            for r in manifest.get('as_written', ()))

    except subprocess.TimeoutExpired:
        return name, 'excluded', 'a build timed out'
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sample(names, n):
    if not n or n >= len(names):
        return names
    step = len(names) / n
    return [names[int(i * step)] for i in range(n)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sample', type=int, default=0, help='check N programs (0: all)')
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
    ap.add_argument('--out', default='corpus-results.json')
    ap.add_argument('--only', nargs='*', help='just these program names')
    ap.add_argument('--progress', type=float, default=10.0, metavar='S',
                    help='off a terminal, say how far the run is every S seconds')
    opts = ap.parse_args(argv)
    programs = fetch()
    names = sorted(f for f in os.listdir(programs) if f.endswith('.c'))
    if opts.only:
        names = [n for n in names if n in opts.only]
    names = sample(names, opts.sample)
    scratch = tempfile.mkdtemp(prefix='dsu-corpus-')
    start = time.time()
    # on stderr: the table on stdout stays as it was
    progress = Progress('corpus', stream=sys.stderr, interval=opts.progress)
    try:
        with multiprocessing.Pool(opts.jobs) as pool:
            results = []
            for result in pool.imap(check, [(os.path.join(programs, n), scratch)
                                             for n in names], chunksize=4):
                results.append(result)
                progress('checking', len(results), len(names), 'programs')
        progress.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    elapsed = time.time() - start
    counts = {c: 0 for c in CATEGORIES}
    for _, cat, _ in results:
        counts[cat] += 1
    considered = len(results) - counts['excluded']
    # passing programs with functions compiled as written
    as_written = [n for n, cat, d in results if cat == 'passes both' and d]
    gcc = _run(['gcc', '-dumpfullversion']).stdout.strip()
    print('gcc.c-torture/execute, %d programs%s, gcc %s, %s, %.0f s' % (
        len(results), ' (sample)' if opts.sample else '', gcc,
        time.strftime('%Y-%m-%d'), elapsed))
    print('| %-14s | %5s | %6s |' % ('category', 'count', 'share'))
    print('|%s|%s|%s|' % ('-' * 16, '-' * 7, '-' * 8))
    for c in CATEGORIES:
        share = '' if c == 'excluded' or not considered else '%5.1f%%' % (
            100.0 * counts[c] / considered)
        print('| %-14s | %5d | %6s |' % (c, counts[c], share))
        if c == 'passes both':
            n = len(as_written)
            print('| %-14s | %5d | %6s |' % ('- as written', n, '%5.1f%%' % (
                100.0 * n / considered) if considered else ''))
    with open(opts.out, 'w') as f:
        json.dump({'gcc': gcc, 'date': time.strftime('%Y-%m-%d'), 'counts': counts,
                   'as_written': len(as_written),
                   'programs': {n: {'category': c, 'detail': d} for n, c, d in results}},
                  f, indent=1, sort_keys=True)
    bad = [(n, c, d) for n, c, d in results if c in ('MISCOMPILED', 'CRASHED')]
    for n, c, d in bad:
        print('%s %s: %s' % (c, n, d.strip().split('\n')[-1]))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
