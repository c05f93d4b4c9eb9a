"""Patch torture: every corpus program replaced in full, live, at the start of main.

    python tests/corpus/patch_torture.py [--sample N] [--jobs J] [--parts P]
                                         [--out results.json]

For each program of gcc's torture tests (the build corpus, run.py) that
builds and passes the ordinary way:

  1. builds it updateable, with a unit of its own around main
     (torture_main.c, linked with --wrap=main) that holds an update point,
     and records it as version v1 -- the same steps as `scons dsu=1`:
     the pass (dsu_tool.cc.run_pass), gcc, the sizes, the version store;
  2. runs it once unpatched: it must behave as the ordinary build (the
     build corpus checks that; a program where it does not is excluded);
  3. records the same sources as v2 and builds the patch v1 -> v2 with
     every function and constant counted as changed (build_patch(...,
     full=True), what `scons patch from=v1 to=v2 full=1` runs);
  4. starts the program, which waits at its update point before main;
     `dsu apply PID PATCH` (the real command, in a subprocess) installs
     the patch there; the program then runs on, and its exit status and
     output are compared with the ordinary build's.

With --mutate, v2 is the program with every string literal inside a
function changed (so the new code is visibly the one that runs), and the
patched run is compared with the ordinary build of that mutated program.
With --parts P, each patch is written as up to P files compiled side by
side and cut as finely as its functions allow (what `scons patch` does
with a large unit on a machine with several processors), so that calls
between the files, definitions in one used by another and the tables of
each are tried on every program.

Each program lands in one category:

  applies, same     the patch applied and the program behaved as it should
  refused: patch    the patch generator refused, with a reason
  refused: apply    `dsu apply` refused (exit 3), with the runtime's reason
  PATCH C REJECTED  gcc rejected the patch's C (a bug)
  TARGET DIFFERS    the patched program crashed, or behaved differently,
                    or never took the patch (a bug)
  TOOL CRASHED      a Python exception in the patch generator, or `dsu
                    apply` failed without a verdict (a bug)
  excluded          fails the ordinary way or with dsu=1 (see run.py)

It prints the counts as a table and the bugs with their first line,
writes per-program results as JSON, and exits 1 if any bug category is
not empty.  --sample N takes every k-th program in name order.
"""

import argparse
import json
import multiprocessing
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from run import CFLAGS, LIBS, RUN_TIMEOUT, _execute, _run, fetch, reference, sample  # noqa: E402
from dsu_tool.cc import Command, record_sizes, run_pass  # noqa: E402
from dsu_tool.codegen.unit import RUNTIME_INCLUDE, RUNTIME_LINK_FLAGS  # noqa: E402
from dsu_tool.frontend.errors import DsuError  # noqa: E402
from dsu_tool.patchgen import build_patch  # noqa: E402
from dsu_tool.versions.record import record_version  # noqa: E402

SAME, REFUSED_PATCH, REFUSED_APPLY = 'applies, same', 'refused: patch', 'refused: apply'
REJECTED, DIFFERS, CRASHED, EXCLUDED = ('PATCH C REJECTED', 'TARGET DIFFERS', 'TOOL CRASHED',
                                        'excluded')
CATEGORIES = [SAME, REFUSED_PATCH, REFUSED_APPLY, REJECTED, DIFFERS, CRASHED, EXCLUDED]
BUGS = (REJECTED, DIFFERS, CRASHED)
WRAPPER = os.path.join(HERE, 'torture_main.c')
PROGRAM = 'prog'
APPLY_TIMEOUT = 10


class Outcome(Exception):
    """Ends the check of one program in CATEGORY."""

    def __init__(self, category, detail):
        super().__init__(detail)
        self.category, self.detail = category, detail


def _first_error(text):
    lines = [l for l in text.splitlines() if 'error' in l]
    return (lines or text.strip().splitlines() or [''])[0]


_shared = {}


def _runtime_object(scratch):
    """The runtime, compiled once per worker as the SCons tool compiles it."""
    if 'rt' not in _shared:
        rt = os.path.join(tempfile.mkdtemp(dir=scratch), 'dsu_runtime.o')
        _run(['gcc', '-O2', '-fPIC', '-pthread', '-I', RUNTIME_INCLUDE, '-c', '-o', rt,
              os.path.join(os.path.dirname(RUNTIME_INCLUDE), 'dsu_runtime.c')], check=True)
        _shared['rt'] = rt
    return _shared['rt']


def _compile_unit(work, source, obj):
    """One unit through the pass and gcc, as `scons dsu=1` compiles it;
    returns the path of its manifest."""
    cmd = Command(['gcc'] + CFLAGS + ['-DDSU_UPDATEABLE', '-I', RUNTIME_INCLUDE,
                                      '-c', '-o', obj, source])
    try:
        generated, manifest = run_pass(cmd, work)
    except DsuError as e:
        raise Outcome(EXCLUDED, 'dsu=1 refuses it: ' + str(e).split('\n')[0])
    except Exception:
        raise Outcome(EXCLUDED, 'the pass crashes (see run.py): ' +
                      traceback.format_exc(limit=3).strip().split('\n')[-1])
    c = _run(cmd.with_source(generated), cwd=work, timeout=120)
    if c.returncode != 0:
        raise Outcome(EXCLUDED, 'dsu=1 output rejected (see run.py): ' + _first_error(c.stderr))
    record_sizes(obj, manifest, work)
    return os.path.join(work, '.dsu', 'gen', os.path.relpath(obj, work) + '.dsu.json')


def _build_version(work, scratch, name, sources):
    """Record version NAME of the program from SOURCES (in WORK); return
    the linked executable and the units' manifests."""
    objs, manifests = [], []
    for src in sources:
        obj = os.path.join(work, '%s.%s.o' % (os.path.splitext(src)[0], name))
        manifests.append(_compile_unit(work, src, obj))
        objs.append(obj)
    info = os.path.join(work, '%s.version.c' % name)
    record_version(work, PROGRAM, name, manifests, info)
    _run(['gcc', '-I', RUNTIME_INCLUDE, '-c', '-o', info[:-2] + '.o', info], cwd=work,
         check=True)
    exe = os.path.join(work, '%s.%s' % (PROGRAM, name))
    link = _run(['gcc', '-o', exe] + objs + [info[:-2] + '.o', _runtime_object(scratch)] +
                RUNTIME_LINK_FLAGS + ['-Wl,--wrap=main'] + LIBS, cwd=work, timeout=120)
    if link.returncode != 0:
        raise Outcome(EXCLUDED, 'dsu=1 link fails: ' + _first_error(link.stderr))
    return exe, manifests


def _apply(pid, patch):
    """`dsu apply --json` on PID; returns (exit code, answer)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get('PYTHONPATH')) if p))
    p = _run([sys.executable, '-m', 'dsu_tool', 'apply', str(pid), patch, '--json',
              '--timeout', str(APPLY_TIMEOUT)], env=env, timeout=APPLY_TIMEOUT + 30)
    try:
        answer = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        answer = {'reason': (p.stderr or p.stdout).strip()[-300:]}
    return p.returncode, answer


def _patched_run(exe, patch, work):
    """Start EXE at its update point, apply PATCH, let it run on; returns
    (exit status, masked output) as run._execute does."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    env = dict(os.environ, DSU_TORTURE_FDS='%d,%d' % (ready_w, go_r))
    proc = subprocess.Popen([exe], cwd=work, env=env, pass_fds=(ready_w, go_r),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    os.close(ready_w)
    os.close(go_r)
    try:
        if not select.select([ready_r], [], [], RUN_TIMEOUT)[0] or \
                os.read(ready_r, 1) != b'r':
            raise Outcome(DIFFERS, 'never reached its update point before main')
        code, answer = _apply(proc.pid, patch)
        reason = str(answer.get('reason', answer.get('code', '')))
        if code != 0:
            dead = proc.poll() is not None
            if dead:
                raise Outcome(DIFFERS, 'died while the patch was applied (exit %s): %s'
                              % (proc.returncode, reason))
            if code == 3:
                raise Outcome(REFUSED_APPLY, reason)
            if code == 4:
                raise Outcome(DIFFERS, 'did not take the patch at its update point: '
                              + reason)
            raise Outcome(CRASHED, 'dsu apply exit %d: %s' % (code, reason))
        os.write(go_w, b'g')
        os.close(go_w)
        go_w = None
        try:
            out, _ = proc.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            return 'timeout', ''
        return proc.returncode, re.sub(r'0x[0-9a-fA-F]{6,}', '0x...',
                                       out.decode('utf-8', 'replace'))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(ready_r)
        if go_w is not None:
            os.close(go_w)


def check(args):
    """One program through the whole path; returns (name, category, detail)."""
    src, scratch, mutate, parts = args
    name = os.path.basename(src)
    work = tempfile.mkdtemp(dir=scratch)
    cwd = os.getcwd()
    start = time.time()
    try:
        os.chdir(work)     # run_pass records the compile's directory
        if mutate:
            with open(src, encoding='latin-1') as f:
                mutated = mutate_strings(f.read())
            if mutated is None:
                raise Outcome(EXCLUDED, 'no string literal in a function to change')
        shutil.copy(src, 'prog.c')
        shutil.copy(WRAPPER, 'torture_main.c')
        expected = _ordinary('prog.c', work)
        exe, manifests = _build_version(work, scratch, 'v1', ['prog.c', 'torture_main.c'])
        got = _execute(exe, work)
        if got != expected:
            raise Outcome(EXCLUDED, 'dsu=1 build behaves differently (see run.py)')
        if mutate:         # the developer edits prog.c and builds v2
            with open('prog.c', 'w', encoding='latin-1') as f:
                f.write(mutated)
            expected = _ordinary('prog.c', work, mutated=True)
            _build_version(work, scratch, 'v2', ['prog.c', 'torture_main.c'])
        else:              # the same sources again, recorded as v2
            record_version(work, PROGRAM, 'v2', manifests, os.path.join(work, 'v2.version.c'))
        patch = os.path.join(work, '%s.v1-to-v2.patch.so' % PROGRAM)
        try:
            build_patch(work, PROGRAM, 'v1', 'v2', patch, full=True, jobs=parts,
                        part_size=1 if parts > 1 else None)
        except DsuError as e:
            text = str(e)
            if 'compiling the patch failed' in text.split('\n')[0]:
                raise Outcome(REJECTED, _first_error(text.split('\n', 2)[-1]))
            raise Outcome(REFUSED_PATCH, text.split('\n')[0])
        except Exception:
            raise Outcome(CRASHED, traceback.format_exc(limit=8))
        got = _patched_run(exe, patch, work)
        if got != expected:
            raise Outcome(DIFFERS, 'exit %s (expected %s)%s' % (
                got[0], expected[0], ', other output' if got[1] != expected[1] else ''))
        raise Outcome(SAME, '')
    except Outcome as o:
        return name, o.category, o.detail, time.time() - start
    except subprocess.TimeoutExpired:
        return name, EXCLUDED, 'a build timed out', time.time() - start
    except Exception:
        return name, CRASHED, 'harness: ' + traceback.format_exc(limit=8), time.time() - start
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)


def _ordinary(source, work, mutated=False):
    """The ordinary build's exit status and output; a program that fails
    that way is no test of the patch (a mutated one that fails checks its
    strings, or writes to one: undefined behaviour, no reference)."""
    plain = os.path.join(work, 'plain')
    p = _run(['gcc'] + CFLAGS + ['-o', plain, source] + LIBS, cwd=work, timeout=120)
    if p.returncode != 0:
        raise Outcome(EXCLUDED, 'ordinary build fails')
    expected = reference(plain, work)
    if expected is None:
        raise Outcome(EXCLUDED, 'its output depends on memory malloc left uninitialised')
    if expected[0] != 0:
        raise Outcome(EXCLUDED, '%sordinary build exits %s' % (
            'mutated: ' if mutated else '', expected[0]))
    return expected


_LEXEME = re.compile(r'/\*.*?\*/|//[^\n]*|^[ \t]*#(?:[^\n]*\\\n)*[^\n]*'
                     r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|[A-Za-z_]\w*|\S',
                     re.S | re.M)
_OPAQUE = {'asm', '__asm', '__asm__', '__attribute__', '_Pragma', 'static'}


def mutate_strings(text):
    """TEXT with every string literal inside a function body starting with
    '~', or None if there is none.  Literals of a static's initializer
    (kept values, by design), of asm statements and attributes are left
    alone.  A function body is a top-level '{' after ')' or, in a K&R
    definition, after ';'."""
    out, last, changed = [], 0, 0
    depth, prev, in_body, statement = 0, '', False, []
    braces = []            # per open brace: the statement it interrupts, if an initializer
    for m in _LEXEME.finditer(text):
        tok = m.group()
        if tok.startswith(('/*', '//')) or tok.lstrip().startswith('#'):
            continue
        if tok == '{':
            if depth == 0:
                in_body = prev in (')', ';')
            depth += 1
            initializer = '=' in statement or (braces and braces[-1] is not None)
            braces.append(statement if initializer else None)
            if not initializer:
                statement = []
        elif tok == '}':
            depth -= 1
            kept = braces.pop() if braces else None
            statement = kept if kept is not None else []
        elif tok == ';':
            statement = []
        elif tok.startswith('"') and in_body and depth > 0 and \
                not _OPAQUE.intersection(statement):
            out.append(text[last:m.start() + 1] + '~')
            last = m.start() + 1
            changed += 1
        else:
            statement.append(tok)
        prev = tok
    if not changed:
        return None
    return ''.join(out) + text[last:]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sample', type=int, default=0, help='check N programs (0: all)')
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
    ap.add_argument('--out', default='patch-torture-results.json')
    ap.add_argument('--only', nargs='*', help='just these program names')
    ap.add_argument('--mutate', action='store_true',
                    help='v2 changes every string literal in a function')
    ap.add_argument('--parts', type=int, default=1,
                    help='each patch written as up to N files compiled side by side, cut '
                    'as finely as its functions allow (large patches are cut so)')
    opts = ap.parse_args(argv)
    programs = fetch()
    names = sorted(f for f in os.listdir(programs) if f.endswith('.c'))
    if opts.only:
        names = [n for n in names if n in opts.only]
    names = sample(names, opts.sample)
    scratch = tempfile.mkdtemp(prefix='dsu-patch-torture-')
    start = time.time()
    try:
        with multiprocessing.Pool(opts.jobs) as pool:
            results = pool.map(check, [(os.path.join(programs, n), scratch, opts.mutate,
                                        max(1, opts.parts)) for n in names], chunksize=2)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    elapsed = time.time() - start
    counts = {c: 0 for c in CATEGORIES}
    for _, cat, _, _ in results:
        counts[cat] += 1
    tested = [r for r in results if r[1] != EXCLUDED]
    considered = len(tested)
    gcc = _run(['gcc', '-dumpfullversion']).stdout.strip()
    print('patch torture%s%s, gcc.c-torture/execute, %d programs%s, gcc %s, %s, %.0f s '
          '(%.2f s per tested program, one job)' % (
              ' (mutated strings)' if opts.mutate else '',
              ' (patches in up to %d parts)' % opts.parts if opts.parts > 1 else '', len(results),
              ' (sample)' if opts.sample else '', gcc, time.strftime('%Y-%m-%d'), elapsed,
              sum(r[3] for r in tested) / max(1, considered)))
    print('| %-16s | %5s | %6s |' % ('category', 'count', 'share'))
    print('|%s|%s|%s|' % ('-' * 18, '-' * 7, '-' * 8))
    for c in CATEGORIES:
        share = '' if c == EXCLUDED or not considered else '%5.1f%%' % (
            100.0 * counts[c] / considered)
        print('| %-16s | %5d | %6s |' % (c, counts[c], share))
    with open(opts.out, 'w') as f:
        json.dump({'gcc': gcc, 'date': time.strftime('%Y-%m-%d'), 'counts': counts,
                   'mutate': opts.mutate, 'seconds': elapsed,
                   'programs': {n: {'category': c, 'detail': d, 'seconds': round(s, 2)}
                                for n, c, d, s in results}},
                  f, indent=1, sort_keys=True)
    bad = [(n, c, d) for n, c, d, _ in results if c in BUGS]
    for n, c, d in bad:
        print('%s %s: %s' % (c, n, d.strip().split('\n')[-1]))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
