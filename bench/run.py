"""Every benchmark, in one command, with a summary against the goals.

    python bench/run.py [--quick] [--only overhead,server,pause,memory,build,redis]
                        [--out bench/results]

Runs the sections in this order (or those named with --only):

  overhead  instructions and wall time of bench/programs (bench/overhead.py)
  server    kvd's throughput and latency under load (bench/server.py)
  pause     the update pause, and the lazy conversion after it (bench/pause.py)
  memory    peak RSS and the size of wrapped structs (bench/memory.py)
  build     scons dsu=1 against scons, and the pass's speed (bench/build_cost.py)
  redis     redis 2.0.4 under redis-benchmark, and its instructions per
            request (bench/redis.py; when the redis sources are found)

Each section's table is printed as soon as it is done, under a line naming
the machine, the compiler, the flags, the date and the load average when
the section started (other work on the machine shows in wall times and in
the server's figures, not in instruction counts).  Then a summary table
compares the figures with the goals.  The raw results go to OUT.json and
the tables to OUT.md.  kvd and the pause program are built once for all
sections.  --quick takes fewer and shorter rounds, item counts up to 10^5
and no corpus: about 1.5 minutes on two cores instead of about 3.5.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_cost  # noqa: E402
import common  # noqa: E402
import memory  # noqa: E402
import overhead  # noqa: E402
import pause  # noqa: E402
import redis as redis_bench  # noqa: E402  (bench/redis.py)
import server  # noqa: E402

SECTIONS = ('overhead', 'server', 'pause', 'memory', 'build', 'redis')


def run_section(name, work, quick):
    """(results, table, what the figures are) of section NAME."""
    if name == 'overhead':
        runs = 3 if quick else 5
        res = overhead.measure(runs, work)
        return res, overhead.table(res), (
            'steady-state overhead on compute-bound code, no patch applied: instructions '
            '(callgrind) and wall time, median of %d runs' % runs)
    if name == 'server':
        res = server.measure(work, quick)
        return res, server.table(res), ''
    if name == 'pause':
        res = pause.measure(work, quick, repeat=3 if quick else 5)
        return res, pause.table(res), ''
    if name == 'memory':
        res = memory.measure(work, quick)
        return res, memory.table(res), ''
    if name == 'build':
        repeat, corpus = (1, 0) if quick else (3, 200)
        res = build_cost.measure(corpus, repeat, work)
        note = 'build cost: clean builds, -j2, median of %d' % repeat
        if corpus:
            note += '; the pass alone on kvd and on %d programs of the gcc corpus' % corpus
        return res, build_cost.table(res), note
    if name == 'redis':
        rounds, requests = (2, 2000) if quick else (5, 10000)
        os.makedirs(os.path.join(work, 'redis'))
        res = redis_bench.measure(os.path.join(work, 'redis'), rounds, requests)
        if res is None:
            return None, ('not run: the redis sources were not found (../shared/realprogs '
                          'beside the project, or $DSU_REALPROGS)'), ''
        return res, redis_bench.table(res), (
            'redis %s built both ways, the two servers side by side, redis-benchmark '
            'against each in turn, interleaved' % res['release'])
    raise ValueError(name)


def load_average():
    try:
        with open('/proc/loadavg') as f:
            return float(f.read().split()[0])
    except OSError:
        return None


# -- the summary ---------------------------------------------------------------

def summary(results):
    """Rows (target, goal, measured, met) from whichever sections ran."""
    rows = []

    def row(section, target, goal, measure):
        res = results.get(section)
        if res is None:
            rows.append((target, goal, 'not run', ''))
            return
        try:
            measured, met = measure(res)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
            measured, met = 'no figure (%s)' % e, None
        if met is None or isinstance(met, str):
            rows.append((target, goal, measured, met or ''))
        else:
            rows.append((target, goal, measured, 'yes' if met else 'NO'))

    def overhead_(res):
        ratios = {n: r['instructions'][1] / r['instructions'][0] for n, r in res.items()
                  if all(r['instructions'])}
        worst = max(ratios, key=ratios.get)
        return ('%.2fx (%s; %s)' % (
            ratios[worst], worst, ', '.join('%s %.2fx' % (n, v) for n, v in sorted(ratios.items())
                                            if n != worst)), ratios[worst] <= 1.05)

    def server_(res):
        r, pairs = res['throughput_ratio'], res['round_ratios']
        ipr = res['instructions_per_request']
        met = r >= 0.98
        if min(pairs) < 0.98 <= max(pairs):
            # the machine's noise is larger than the margin: say so
            met = '%s, but the rounds fall on both sides' % ('yes' if met else 'NO')
        counted = ('; instructions per request in the server %.3fx' % (
            ipr['updateable'] / ipr['ordinary']) if ipr else '')
        return ('%.3f (rounds %.3f to %.3f)%s' % (r, min(pairs), max(pairs), counted), met)

    def fn_pause(res):
        cells = res['cells']['function bodies']
        worst = max(cells, key=lambda n: cells[n]['pause_ns'])
        us = cells[worst]['pause_ns'] / 1e3
        return '%.1f µs at most (%s items)' % (us, '{:,}'.format(worst)), us < 1000

    def type_pause(res):
        # A pause that converted the objects would grow as the count does
        # (1000x from the smallest count to the largest); microsecond
        # pauses also move by a few times from run to run on a shared
        # machine.  Independent: within 5x while the count grows 1000x.
        cells = res['cells']['type change']
        small, large = min(cells), max(cells)
        a, b = cells[small]['pause_ns'], cells[large]['pause_ns']
        return ('%.1f µs at %s, %.1f µs at %s: %.2fx for %dx the objects' % (
            a / 1e3, '{:,}'.format(small), b / 1e3, '{:,}'.format(large), b / a,
            large // small), b <= 5 * a)

    def memory_(res):
        # peak RSS and static data of bench/programs, updateable / ordinary
        worst = []
        for what in ('hwm', 'static'):
            # static data: without the runtime's own (its connection buffers)
            ratios = {n: (r['updateable'][what] - (r['updateable']['runtime static']
                                                   if what == 'static' else 0)) /
                      r['ordinary'][what] for n, r in res['programs'].items()}
            n = max(ratios, key=ratios.get)
            worst.append((what, n, ratios[n]))
        return ('; '.join('%s %.2fx (%s)' % ('peak RSS' if w == 'hwm' else 'static data', v, n)
                          for w, n, v in worst), all(v <= 1.3 for _, _, v in worst))

    def build_(res):
        ratios = ['%s %s %.2fx' % (n, what, b['scons dsu=1 ' + key] / b['scons ' + key])
                  for n, b in res['builds'].items()
                  for what, key in (('clean', 'clean'), ('edit', 'edit'))]
        worst = max(b['scons dsu=1 ' + key] / b['scons ' + key]
                    for b in res['builds'].values() for key in ('clean', 'edit'))
        return ', '.join(ratios), worst <= 2.0

    def patch_(res):
        # the patch against an ordinary clean build of the same program
        cells = ['%s %.2f s (%.2fx)' % (n, b['scons patch'], b['scons patch'] / b['scons clean'])
                 for n, b in res['builds'].items()]
        return ', '.join(cells), all(b['scons patch'] <= b['scons clean']
                                     for b in res['builds'].values())

    def refusal_(res):
        cells = ['%s %.2f s' % (n, b['refused patch']) for n, b in res['builds'].items()]
        return ', '.join(cells), all(b['refused patch'] < 2.0 for b in res['builds'].values())

    def redis_(res):
        ratios = res['ratios']
        low = min(ratios, key=ratios.get)
        return ('%.3f (median of the %d tests\' ratios; lowest: %s %.2f)' % (
            res['throughput_ratio'], len(ratios), low, ratios[low]),
            res['throughput_ratio'] >= 0.98)

    def redis_ipr(res):
        ipr = res['instructions_per_request']
        if not ipr:
            return 'no figure (valgrind was not found)', None
        ratio = ipr['dsu=1'] / ipr['ordinary']
        return ('%.3fx (%.0f against %.0f); %.3fx with DSU_CONTROL=poll' % (
            ratio, ipr['dsu=1'], ipr['ordinary'],
            ipr['dsu=1' + redis_bench.POLL] / ipr['ordinary']), ratio <= 1.03)

    row('overhead', 'compute-bound instruction overhead (max over bench/programs)',
        '≤ 1.05x', overhead_)
    row('memory', 'peak RSS and static data (without the runtime\'s own) of bench/programs, '
        'updateable / ordinary (max over the programs)', '≤ 1.3x', memory_)
    row('server', 'server throughput, updateable / ordinary', '≥ 0.98', server_)
    row('pause', 'function-only pause (max over the item counts)', '< 1 ms', fn_pause)
    row('pause', 'type-change pause against live instances', 'independent of the count: '
        'median at the largest count ≤ 5x median at the smallest', type_pause)
    row('build', 'scons dsu=1 / scons (clean build, and rebuild after a one-line edit)',
        '≤ 2x', build_)
    row('build', 'scons patch (run again) against an ordinary clean build', '≤ 1x', patch_)
    row('build', 'a refused patch (run again)', '< 2 s', refusal_)
    row('redis', 'redis-benchmark throughput, updateable redis 2.0 / ordinary', '≥ 0.98',
        redis_)
    row('redis', 'redis instructions per request, updateable / ordinary', '≤ 1.03x',
        redis_ipr)
    return rows


def summary_table(rows):
    lines = ['| target | goal | measured | met? |', '|---|---|---|---|']
    lines += ['| %s | %s | %s | %s |' % r for r in rows]
    return '\n'.join(lines)


# -- main ------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true',
                    help='fewer and shorter rounds, no corpus, item counts up to 10^5')
    ap.add_argument('--only', help='comma-separated sections: ' + ','.join(SECTIONS))
    ap.add_argument('--out', default=os.path.join(common.BENCH, 'results'),
                    help='OUT.json gets the raw results, OUT.md the tables '
                         '(default bench/results)')
    opts = ap.parse_args(argv)
    names = SECTIONS
    if opts.only:
        names = [n.strip() for n in opts.only.split(',') if n.strip()]
        unknown = [n for n in names if n not in SECTIONS]
        if unknown:
            ap.error('unknown section %s (choose from %s)' % (', '.join(unknown),
                                                               ', '.join(SECTIONS)))
    out = os.path.abspath(opts.out)
    if out.endswith(('.json', '.md')):
        out = os.path.splitext(out)[0]
    os.makedirs(os.path.dirname(out), exist_ok=True)

    m = common.machine()
    raw = {'machine': m, 'quick': opts.quick, 'sections': {}}
    md = ['# dsu benchmarks', '', common.machine_line(m) + ('; --quick' if opts.quick else ''),
          '']
    results, failed = {}, []
    start = time.monotonic()
    work = tempfile.mkdtemp(prefix='dsu-bench-run-')
    try:
        for name in names:
            began, load = time.monotonic(), load_average()
            head = '%s; load average %.2f' % (common.machine_line(), load or 0)
            print('## %s\n%s' % (name, head), flush=True)
            try:
                res, text, what = run_section(name, work, opts.quick)
            except Exception as e:  # one broken section must not hide the others
                failed.append(name)
                text = 'FAILED: %s' % e
                what = ''
                res = None
                traceback.print_exc()
                raw['sections'][name] = {'error': str(e)}
            took = time.monotonic() - began
            print('%s%s\n(%.0f s)\n' % (what + '\n' if what else '', text, took), flush=True)
            md += ['## %s' % name, '', head, ''] + ([what, ''] if what else []) + [
                text, '', '(%.0f s)' % took, '']
            if res is not None:
                results[name] = res
                raw['sections'][name] = {'seconds': took, 'load_average': load,
                                         'results': res}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = time.monotonic() - start
    rows = summary(results)
    text = summary_table(rows)
    print('## summary\n%s\n\ntotal %.0f s' % (text, total))
    md += ['## summary', '', text, '', 'total %.0f s' % total, '']
    raw['summary'] = [dict(zip(('target', 'goal', 'measured', 'met'), r)) for r in rows]
    raw['seconds'] = total
    with open(out + '.json', 'w') as f:
        json.dump(raw, f, indent=1)
    with open(out + '.md', 'w') as f:
        f.write('\n'.join(md))
    print('wrote %s.json and %s.md' % (out, out))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
