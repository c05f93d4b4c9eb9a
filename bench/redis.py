"""redis 2.0.4, ordinary against updateable, in the same run.

    python bench/redis.py [--rounds 5] [--requests 10000] [--work DIR]

Builds redis 2.0.4 the ordinary way and with `scons dsu=1` (the sources
and the one-line update point of tests/realprogs/redis_chain.py; they
come from ../shared/realprogs or $DSU_REALPROGS), and redis-benchmark
the ordinary way.  Then the two servers run side by side and
redis-benchmark (50 clients, every test of the 2.0 benchmark) is run
against each in turn, ROUNDS times, interleaved, so that other load on
the machine falls on both.  Prints, per test, the median requests per
second of each build and their ratio, and the peak RSS (VmHWM) of each
server at the end.  With valgrind, also the server's own instructions per
request (callgrind): one client, every test of the benchmark, the
difference between a run of 5 x N and one of N requests per test over
their 4 x N (start, exit and saving cancel out).  Not part of the test
run.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tests', 'realprogs'))
import redis_chain  # noqa: E402

sys.path.insert(0, HERE)
import common  # noqa: E402

RELEASE = '2.0.4'
# the updateable server without the runtime's control thread: a process
# with a second thread takes glibc's multi-threaded paths (locks in stdio
# and malloc, cancellation in system calls)
POLL = ', DSU_CONTROL=poll'
BENCH_SCONSTRUCT = redis_chain.PLAIN_SCONSTRUCT + (
    "env.Program('redis-benchmark', Split('ae.c anet.c redis-benchmark.c sds.c adlist.c "
    "zmalloc.c'))\n")


def build(work, src):
    plain = os.path.join(work, 'plain')
    dsu = os.path.join(work, 'dsu')
    for tree, sconstruct in ((plain, BENCH_SCONSTRUCT), (dsu, redis_chain.SCONSTRUCT)):
        os.makedirs(tree)
        with open(os.path.join(tree, 'SConstruct'), 'w') as f:
            f.write(sconstruct)
        assert redis_chain.dsu('init', tree).returncode == 0
        redis_chain.put_release(src, tree, RELEASE)
    redis_chain.scons(plain)
    redis_chain.scons(dsu, 'dsu=1', 'version=' + RELEASE)
    return plain, dsu


def benchmark(tool, port, requests):
    out = subprocess.run([tool, '-p', str(port), '-n', str(requests), '-c', '50', '-q'],
                         capture_output=True, text=True, timeout=600).stdout
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'^(.+?): ([\d.]+) requests per second', out, re.M)}


def _instructions(binary, tool, requests, workdir):
    """Instructions redis-server BINARY (under callgrind) executes from
    its start to its exit, serving one redis-benchmark client that sends
    REQUESTS requests per test."""
    port = redis_chain.free_port()
    log = os.path.join(workdir, 'callgrind.log')
    proc = redis_chain.start(binary, port, workdir, common.callgrind(log), wait=60)
    try:
        subprocess.run([tool, '-p', str(port), '-n', str(requests), '-c', '1', '-q'],
                       capture_output=True, timeout=1800, check=True)
    finally:
        redis_chain.stop(proc, timeout=600)     # callgrind reports as it exits
    with open(log) as f:
        return common.collected(f.read(), binary)


def instructions_per_request(binaries, tool, tests, work, requests=500):
    """{name: instructions per request} of each redis-server in BINARIES
    ({name: path}) under callgrind, redis-benchmark running its TESTS
    tests; None without valgrind."""
    if shutil.which('valgrind') is None:
        return None
    out = {}
    for name, binary in binaries.items():
        env = dict(os.environ)
        if name.endswith(POLL):
            os.environ['DSU_CONTROL'] = 'poll'
        try:
            tag = name.split(',')[0]
            few = _instructions(binary, tool, requests, os.path.join(work, 'cg-few-' + tag))
            many = _instructions(binary, tool, 5 * requests,
                                 os.path.join(work, 'cg-many-' + tag))
        finally:
            os.environ.clear()
            os.environ.update(env)
        out[name] = (many - few) / (4 * requests * tests)
    return out


def measure(work, rounds=5, requests=10000):
    """The figures of one run (None without the redis sources): per test,
    the requests per second of each build in each round; the peak RSS of
    each server; instructions per request (None without valgrind)."""
    src = redis_chain.sources()
    if src is None:
        return None
    plain, dsu = build(work, src)
    servers = {}
    for name, tree in (('ordinary', plain), ('dsu=1', dsu)):
        port = redis_chain.free_port()
        servers[name] = (redis_chain.start(os.path.join(tree, 'redis-server'), port,
                                           os.path.join(work, 'run-' + name)), port)
    rates = {name: {} for name in servers}
    try:
        for _ in range(rounds):
            for name, (_, port) in servers.items():
                for test, rate in benchmark(os.path.join(plain, 'redis-benchmark'), port,
                                            requests).items():
                    rates[name].setdefault(test, []).append(rate)
        rss = {name: redis_chain.peak_rss_kb(proc.pid) for name, (proc, _) in servers.items()}
        load = os.getloadavg()[0]
    finally:
        for proc, _ in servers.values():
            redis_chain.stop(proc)
    ratios = {test: statistics.median(rates['dsu=1'].get(test, [0])) /
              statistics.median(runs) for test, runs in rates['ordinary'].items()}
    ipr = instructions_per_request(
        {name: os.path.join(tree, 'redis-server') for name, tree in (
            ('ordinary', plain), ('dsu=1', dsu), ('dsu=1' + POLL, dsu))},
        os.path.join(plain, 'redis-benchmark'), len(rates['ordinary']), work)
    return {'release': RELEASE, 'rounds': rounds, 'requests': requests, 'rates': rates,
            'ratios': ratios, 'throughput_ratio': statistics.median(ratios.values()),
            'rss_kb': rss, 'instructions_per_request': ipr, 'load': load}


def table(res):
    lines = ['redis %s, %d rounds of %d requests per test, 50 clients, load %.1f at the end'
             % (res['release'], res['rounds'], res['requests'], res['load']),
             '| test | ordinary (req/s, median) | dsu=1 (req/s, median) | ratio |',
             '|---|---|---|---|']
    rates = res['rates']
    for test, runs in rates['ordinary'].items():
        lines.append('| %s | %.0f | %.0f | %.3f |' % (
            test, statistics.median(runs), statistics.median(rates['dsu=1'].get(test, [0])),
            res['ratios'][test]))
    lines.append('| median of the ratios | | | %.3f |' % res['throughput_ratio'])
    lines += ['', '| build | peak RSS |', '|---|---|']
    for name, kb in res['rss_kb'].items():
        lines.append('| %s | %d KB (%.2fx) |' % (name, kb, kb / res['rss_kb']['ordinary']))
    ipr = res['instructions_per_request']
    if ipr:
        lines += ['', 'instructions per request in the server (callgrind, one client, every '
                  'test, %d requests per test)' % (4 * 500), '',
                  '| build | instructions | ratio |', '|---|---|---|']
        for name, n in ipr.items():
            lines.append('| %s | %.0f | %.3f |' % (name, n, n / ipr['ordinary']))
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--requests', type=int, default=10000)
    ap.add_argument('--work', help='work directory (default: a new one under /tmp)')
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix='dsu-redis-bench-')
    res = measure(work, args.rounds, args.requests)
    if res is None:
        sys.exit('redis sources not found: set DSU_REALPROGS to the realprogs directory')
    print(table(res))


if __name__ == '__main__':
    main()
