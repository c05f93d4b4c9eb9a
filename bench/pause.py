"""The pause an update costs, and where the work of a type change goes.

    python bench/pause.py [--quick] [--repeat R] [--sizes 1000,10000,...] [--json FILE]

Builds the program of bench/pause (v1, v2, v3; `scons dsu=1 version=vN`)
and the patches v1-to-v2, which changes function bodies only, and
v2-to-v3, which adds a field in the middle of `struct item`.  For each
patch and each number N of live items it starts a fresh process with N
items (v1, or v2 for the type change), walks the list once (SIGUSR1),
applies the patch with `dsu apply --json`, then walks the list twice more.

The pause is the runtime's `pause_ns`: the time the program's thread
spends inside DSU_update() installing the patch.  A type change converts
no object there: each item is converted the first time v3 code touches it,
so the first walk after the update pays for all N conversions and the
second walk shows the walk alone.  Every walk's count and sums are checked
against the values the program stored, so a conversion that lost or moved
a field is reported, not timed.  Each cell is the median of R processes.
"""

import argparse
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

PATCHES = (('function bodies', 'v1', 'v2'), ('type change', 'v2', 'v3'))
_WALK = re.compile(r'traverse (\S+) n=(\d+) sum_id=(-?\d+) sum_value=(-?\d+)'
                   r'(?: sum_weight=(-?\d+))? ns=(\d+)')


def expected(n):
    """The sums the program's items hold (see value_of in main.c)."""
    return n, n * (n - 1) // 2, sum((i * 7919) % 1000003 for i in range(n))


class Program:
    """One running pause program: walk(), apply(), stop()."""

    def __init__(self, binary, n):
        self.proc = subprocess.Popen([binary, str(n)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.buf = b''
        line = self.read_line(30)
        if line != 'ready n=%d' % n:
            raise RuntimeError('%s %d: unexpected %r' % (binary, n, line))

    def read_line(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise RuntimeError('pause program: no output in %d s' % timeout)
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError('pause program exited with %s: %s' % (
                    self.proc.wait(), self.proc.stderr.read().decode()[-2000:]))
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        return line.decode()

    def walk(self):
        """Asks for one walk of the whole list; (version, n, sums..., ns)."""
        self.proc.send_signal(signal.SIGUSR1)
        line = self.read_line(60)
        m = _WALK.match(line)
        if not m:
            raise RuntimeError('pause program: unexpected %r' % line)
        version, n, sid, sval, sweight, ns = m.groups()
        return {'version': version, 'n': int(n), 'sum_id': int(sid), 'sum_value': int(sval),
                'sum_weight': None if sweight is None else int(sweight), 'ns': int(ns)}

    def apply(self, patch):
        out = subprocess.run([sys.executable, '-m', 'dsu_tool', 'apply', str(self.proc.pid),
                              patch, '--json', '--timeout', '10'],
                             capture_output=True, text=True, env=common.env())
        try:
            answer = json.loads(out.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise RuntimeError('dsu apply: %s%s' % (out.stdout, out.stderr)) from None
        if out.returncode != 0 or not answer.get('ok'):
            raise RuntimeError('dsu apply %s failed: %s' % (patch, answer))
        return answer

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


def check(walk, n, sums, version):
    """None if WALK saw the N items the program built, in VERSION; else
    what is wrong."""
    want = {'version': version, 'n': sums[0], 'sum_id': sums[1], 'sum_value': sums[2]}
    if version == 'v3':
        want['sum_weight'] = 0
    bad = ['%s=%s (expected %s)' % (k, walk[k], v) for k, v in want.items() if walk[k] != v]
    return '; '.join(bad) or None


def one(builds, name, frm, to, n, sums):
    prog = Program(builds[frm], n)
    try:
        before = prog.walk()
        answer = prog.apply(builds['patches']['%s-to-%s' % (frm, to)])
        first = prog.walk()
        second = prog.walk()
    finally:
        prog.stop()
    problems = [p for p in (check(before, n, sums, frm), check(first, n, sums, to),
                            check(second, n, sums, to)) if p]
    if problems:
        raise RuntimeError('%s at n=%d: %s' % (name, n, '; '.join(problems)))
    return {'pause_ns': answer['pause_ns'], 'deferred': answer.get('deferred'),
            'update_point': answer.get('update_point'), 'before_ns': before['ns'],
            'first_ns': first['ns'], 'second_ns': second['ns']}


def measure(work, quick=False, repeat=3, sizes=None):
    sizes = sizes or ([1000, 10000, 100000] if quick else [1000, 10000, 100000, 1000000])
    builds = common.build_pause(work)
    sums = {n: expected(n) for n in sizes}
    runs = {name: {n: [] for n in sizes} for name, _, _ in PATCHES}
    # round-robin, so that a slow moment of the machine spreads over cells
    for _ in range(repeat):
        for name, frm, to in PATCHES:
            for n in sizes:
                runs[name][n].append(one(builds, name, frm, to, n, sums[n]))
    cells = {}
    for name, _, _ in PATCHES:
        cells[name] = {}
        for n in sizes:
            rs = runs[name][n]
            cells[name][n] = {k: common.median([r[k] for r in rs])
                              for k in ('pause_ns', 'before_ns', 'first_ns', 'second_ns')}
            cells[name][n]['max_pause_ns'] = max(r['pause_ns'] for r in rs)
    return {'repeat': repeat, 'sizes': sizes, 'cells': cells, 'runs': runs,
            'checked': 'every walk: item count, sum of ids, sum of values (and of the new '
                       'field, 0, after the type change)'}


def table(res):
    lines = ['update pause: a fresh process per application, median of %d; pause = '
             'the time inside DSU_update() (the runtime\'s pause_ns); traversal = one pass '
             'over all items (SIGUSR1), every count and sum checked' % res['repeat'],
             '',
             '| patch | live instances | pause (µs) | traversal before (ms) | first traversal '
             'after update (ms) | second traversal after (ms) |',
             '|---|---|---|---|---|---|']
    for name, frm, to in PATCHES:
        for n in res['sizes']:
            c = res['cells'][name][n]
            lines.append('| %s (%s→%s) | %s | %.1f | %.3f | %.3f | %.3f |' % (
                name, frm, to, '{:,}'.format(n), c['pause_ns'] / 1e3, c['before_ns'] / 1e6,
                c['first_ns'] / 1e6, c['second_ns'] / 1e6))
    lines += ['', 'After the type change the first traversal converts every item (lazily, '
              'in place); its difference to the second is the conversion cost, paid in the '
              'program\'s own work instead of in the pause.']
    return '\n'.join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='N up to 10^5 only')
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--sizes', help='comma-separated item counts')
    ap.add_argument('--json')
    opts = ap.parse_args(argv)
    sizes = [int(s) for s in opts.sizes.split(',')] if opts.sizes else None
    return common.run_alone('pause', lambda work: measure(work, opts.quick, opts.repeat, sizes), table, opts.json)


if __name__ == '__main__':
    sys.exit(main())
