"""The redis 2.0.0 -> 2.0.4 chain measured, through SCons and through Make.

    python bench/redis_chain.py [--via scons|make|both] [--rounds 3]
                                [--requests 10000] [--work DIR]

Runs tests/realprogs/redis_chain.py's builds and live chain (its checks
included) for each path and prints, per path, in markdown:

- per release: the ordinary build and the updateable one (2.0.0 from
  scratch, each later release rebuilt over the one before, as a developer
  would), and their ratio;
- per step: the time to build the patch (`scons patch` or `dsu patch`),
  also as a multiple of the ordinary from-scratch build of 2.0.0, its
  size, and the pause the runtime reports (`dsu apply --json`: pause_ns,
  the time the process stood at its update point);
- peak RSS (VmHWM) of the updateable server filled with the chain's data,
  before the first step and after the last, against the ordinary 2.0.0
  and 2.0.4 filled the same way;
- redis-benchmark (50 clients, ROUNDS interleaved rounds, medians) against
  the ordinary 2.0.4, the fresh updateable 2.0.4 and the server updated
  from 2.0.0, side by side in the same run, and the peak RSS of each after
  it.

Every figure is of this run; nothing is asserted on time.  Not part of
the test run.
"""

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tests', 'realprogs'))
import redis_chain  # noqa: E402

_spec = importlib.util.spec_from_file_location('redis_bench', os.path.join(HERE, 'redis.py'))
redis_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(redis_bench)

LAST = redis_chain.RELEASES[-1]


def benchmark_tool(work, src):
    """redis-benchmark of the last release, built the ordinary way by its
    Makefile."""
    tree = os.path.join(work, 'benchmark-tool')
    redis_chain.put_release(src, tree, LAST, whole=True)
    include = redis_chain.dsu('cc', '--print-include-dir').stdout.strip()
    redis_chain.make(tree, '%s -I%s' % (redis_chain.MAKE_CC, include), 'redis-benchmark')
    return os.path.join(tree, 'redis-benchmark')


def filled_peak_rss(binary, workdir):
    """Peak RSS of BINARY started and filled with the chain's data."""
    port = redis_chain.free_port()
    proc = redis_chain.start(binary, port, workdir)
    try:
        c = redis_chain.Client(port)
        redis_chain.fill(c)
        redis_chain.contents(c)
        c.close()
        return redis_chain.peak_rss_kb(proc.pid)
    finally:
        redis_chain.stop(proc)


def throughput(figures, tool, rounds, requests):
    """AFTER for live_chain: redis-benchmark against the updated server
    and, side by side, the ordinary and the fresh updateable LAST."""
    work = figures['work']

    def after(port, pid):
        servers = {}
        try:
            for name, binary in (
                    ('ordinary', os.path.join(work, 'plain-' + LAST, 'redis-server')),
                    ('updateable', os.path.join(figures['project'], 'redis-server.' + LAST))):
                p = redis_chain.free_port()
                servers[name] = (redis_chain.start(binary, p, os.path.join(work, 'bench-' + name)),
                                 p)
            pids = {name: proc.pid for name, (proc, _) in servers.items()}
            ports = {name: p for name, (_, p) in servers.items()}
            pids['updated from 2.0.0'], ports['updated from 2.0.0'] = pid, port
            rates = {name: {} for name in ports}
            for _ in range(rounds):
                for name, p in ports.items():
                    for test, rate in redis_bench.benchmark(tool, p, requests).items():
                        rates[name].setdefault(test, []).append(rate)
            figures['throughput'] = {
                name: {t: statistics.median(v) for t, v in r.items()}
                for name, r in rates.items()}
            figures['bench_rss_kb'] = {name: redis_chain.peak_rss_kb(p)
                                       for name, p in pids.items()}
        finally:
            for proc, _ in servers.values():
                redis_chain.stop(proc)
    return after


def run(via, top, src, tool, rounds, requests):
    work = os.path.join(top, via)
    os.makedirs(work)
    figures = (redis_chain.build_scons if via == 'scons' else redis_chain.build_make)(work, src)
    redis_chain.live_chain(figures, work, after=throughput(figures, tool, rounds, requests)
                           if tool else None)
    figures['ordinary_rss_kb'] = {
        r: filled_peak_rss(os.path.join(work, 'plain-' + r, 'redis-server'),
                           os.path.join(work, 'rss-' + r))
        for r in (redis_chain.RELEASES[0], LAST)}
    return figures


def steps_table(figures):
    via = figures['via']
    clean = figures['releases'][redis_chain.RELEASES[0]]['plain_s']
    rows = ['| step | `%s` | x ordinary clean build (%.1f s) | patch size | changed | '
            'rebound | hand-written lines | pause | `dsu apply` total |'
            % (redis_chain.PATCH_COMMAND[via], clean),
            '|---|---|---|---|---|---|---|---|---|']
    for s in figures['steps']:
        rows.append('| %s -> %s | %.1f s | %.1fx | %d KB | %d | %d | %d | %.1f µs | %.0f ms |' % (
            s['from'], s['to'], s['patch_s'], s['patch_s'] / max(clean, 0.1), s['patch_kb'],
            s['changed_functions'], s['rebound_functions'], s['handwritten_lines'],
            s['pause_us'], s['apply_ms']))
    return '\n'.join(rows)


def builds_table(figures):
    via = figures['via']
    rows = ['| release | ordinary | `%s` | ratio |' % redis_chain.BUILD_COMMAND[via],
            '|---|---|---|---|']
    for r, f in figures['releases'].items():
        rows.append('| %s (%s) | %.1f s | %.1f s | %.2fx |' % (
            r, 'from scratch' if r == redis_chain.RELEASES[0] else 'rebuild',
            f['plain_s'], f['dsu_s'], f['dsu_s'] / max(f['plain_s'], 0.1)))
    return '\n'.join(rows)


def rss_table(figures):
    first, ordinary = redis_chain.RELEASES[0], figures['ordinary_rss_kb']
    rss = figures['rss_kb']
    rows = ['| server (filled with the chain\'s data) | peak RSS | x ordinary |',
            '|---|---|---|',
            '| ordinary %s | %d KB | 1.00x |' % (first, ordinary[first]),
            '| updateable %s, before the first step | %d KB | %.2fx |' % (
                first, rss['before'], rss['before'] / ordinary[first]),
            '| ordinary %s | %d KB | 1.00x |' % (LAST, ordinary[LAST]),
            '| updated %s -> %s, after the last step | %d KB | %.2fx |' % (
                first, LAST, rss['after'], rss['after'] / ordinary[LAST])]
    return '\n'.join(rows)


def throughput_table(figures, rounds, requests):
    if 'throughput' not in figures:
        return ''
    t, names = figures['throughput'], list(figures['throughput'])
    rows = ['redis-benchmark, %d interleaved rounds of %d requests per test, 50 clients '
            '(medians, requests per second):' % (rounds, requests), '',
            '| test | ' + ' | '.join(names) + ' | ' +
            ' | '.join('%s / ordinary' % n for n in names[1:]) + ' |',
            '|---' * (2 * len(names)) + '|']
    ratios = {n: [] for n in names[1:]}
    for test, base in t['ordinary'].items():
        cells = ['%.0f' % t[n].get(test, 0) for n in names]
        for n in names[1:]:
            ratios[n].append(t[n].get(test, 0) / base)
        rows.append('| %s | %s | %s |' % (test, ' | '.join(cells), ' | '.join(
            '%.3f' % ratios[n][-1] for n in names[1:])))
    rows.append('| ' + ' | '.join(['median of the ratios'] + [''] * len(names) + [
        '%.3f' % statistics.median(ratios[n]) for n in names[1:]]) + ' |')
    rss = figures['bench_rss_kb']
    rows += ['', '| server, after redis-benchmark | peak RSS | x ordinary |', '|---|---|---|']
    for n in names:
        rows.append('| %s | %d KB | %.2fx |' % (n, rss[n], rss[n] / rss['ordinary']))
    return '\n'.join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--via', choices=['scons', 'make', 'both'], default='both')
    ap.add_argument('--rounds', type=int, default=3,
                    help='redis-benchmark rounds (0: no throughput figures)')
    ap.add_argument('--requests', type=int, default=10000)
    ap.add_argument('--work', help='work directory (default: a new one under /tmp)')
    args = ap.parse_args()
    src = redis_chain.sources()
    if src is None:
        sys.exit('redis sources not found: set DSU_REALPROGS to the realprogs directory')
    top = args.work or tempfile.mkdtemp(prefix='dsu-redis-chain-bench-')
    tool = benchmark_tool(top, src) if args.rounds else None
    for via in (['scons', 'make'] if args.via == 'both' else [args.via]):
        figures = run(via, top, src, tool, args.rounds, args.requests)
        print('## via %s (load %.1f at the end)\n' % (via, os.getloadavg()[0]))
        for part in (builds_table(figures), steps_table(figures), rss_table(figures),
                     throughput_table(figures, args.rounds, args.requests)):
            if part:
                print(part + '\n', flush=True)
    print('work directory:', top)


if __name__ == '__main__':
    main()
