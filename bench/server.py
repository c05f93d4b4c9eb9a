"""Throughput and latency of the example server, ordinary against updateable.

    python bench/server.py [--quick] [--rounds R] [--seconds S] [--clients C] [--json FILE]

Builds examples/kvd/v1 twice, `scons` and `scons dsu=1 version=v1`, and
the load generator bench/load/loadgen.c (gcc -O2 -pthread).  Each round
starts a fresh server and puts it under closed-loop load: C connections,
each sending one request and waiting for its reply before the next, 20%
SET and 80% GET over 200 keys stored first (kvd holds at most 256), for a
warm-up of 0.5 s and then S counted seconds.  The two builds take turns,
R rounds each, the first build of a round alternating; the table gives the
median of the rounds, and the throughput ratio is the median of the
rounds' own ratios.  No patch is applied: this is the price of being
patchable.

Wall-clock figures move with whatever else the machine does.  So the
server's instructions per request are also counted, under callgrind: one
client, the same requests for both builds, the difference of a run of
5,000 requests and one of 1,000 over their 4,000 (start, exit and the
stored keys cancel out).

The server is single-threaded and the client threads run on the same
machine, so they compete with it for the cores, the same way for both
builds.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

BUILDS = (('ordinary', 'plain'), ('updateable', 'v1'))


def load(loadgen, port, clients, seconds, warmup=0.5):
    out = subprocess.run([loadgen, str(port), '-c', str(clients), '-d', str(seconds),
                          '-w', str(warmup)], capture_output=True, text=True,
                         timeout=seconds + warmup + 60)
    if out.returncode != 0:
        raise RuntimeError('loadgen failed: %s' % out.stderr.strip())
    return json.loads(out.stdout)


def instructions(binary, loadgen, requests, work):
    """Instructions kvd (BINARY, under callgrind) executes from its start
    to its exit, serving one client that sends REQUESTS requests after
    the 200 SETs that store the keys."""
    log = os.path.join(work, 'callgrind.log')
    with common.Server(binary, common.callgrind(log)) as server:
        res = subprocess.run([loadgen, str(server.port), '-c', '1', '-n', str(requests)],
                             capture_output=True, text=True, timeout=600)
        if res.returncode != 0 or json.loads(res.stdout)['wrong']:
            raise RuntimeError('loadgen under callgrind: %s%s' % (res.stdout, res.stderr))
    with open(log) as f:
        return common.collected(f.read(), binary)


def per_request(binary, loadgen, work, few=1000, many=5000):
    """Instructions per request, the start, the exit and the stored keys
    taken out: the difference of two runs over the difference of their
    requests.  One client, so that every poll() brings one request, and
    the same requests each time (loadgen's generator has a fixed seed)."""
    return (instructions(binary, loadgen, many, work)
            - instructions(binary, loadgen, few, work)) / float(many - few)


def measure(work, quick=False, rounds=None, seconds=None, clients=4):
    rounds = rounds or (2 if quick else 7)
    seconds = seconds or (1.5 if quick else 3.0)
    kvd = common.build_kvd(work)
    loadgen = common.build_loadgen(work)
    runs = {name: [] for name, _ in BUILDS}
    for r in range(rounds):
        order = BUILDS if r % 2 == 0 else BUILDS[::-1]
        for name, key in order:
            with common.Server(kvd[key]) as server:
                if r == 0 and key != 'plain':  # it answers as an updateable program
                    common.dsu('status', str(server.pid))
                res = load(loadgen, server.port, clients, seconds)
            if res['wrong']:
                raise RuntimeError('%s kvd gave %d wrong replies' % (name, res['wrong']))
            runs[name].append(res)
    out = {'rounds': rounds, 'seconds': seconds, 'clients': clients, 'keys': 200,
           'set_percent': 20, 'runs': runs, 'median': {}}
    for name, _ in BUILDS:
        out['median'][name] = {k: common.median([x[k] for x in runs[name]])
                               for k in ('requests_per_s', 'p50_us', 'p99_us')}
    # Each round's own ratio: the two runs of a round are next to each
    # other in time, so a slow spell of the machine mostly hits both.
    pairs = [u['requests_per_s'] / p['requests_per_s']
             for p, u in zip(runs['ordinary'], runs['updateable'])]
    out['round_ratios'] = pairs
    out['throughput_ratio'] = common.median(pairs)
    out['instructions_per_request'] = None       # without valgrind: not counted
    if shutil.which('valgrind'):
        out['instructions_per_request'] = {
            name: per_request(kvd[key], loadgen, work) for name, key in BUILDS}
    return out


def table(res):
    lines = ['kvd v1 under closed-loop load: %d clients, 20%% SET / 80%% GET over 200 keys, '
             '%d rounds of %.1f s per build, a fresh server per round, the builds taking '
             'turns; medians' % (res['clients'], res['rounds'], res['seconds']),
             '',
             '| build | requests/s | p50 µs | p99 µs |',
             '|---|---|---|---|']
    for name, _ in BUILDS:
        m = res['median'][name]
        lines.append('| %s | %.0f | %.1f | %.1f |' % (
            name, m['requests_per_s'], m['p50_us'], m['p99_us']))
    pairs = res['round_ratios']
    ipr = res['instructions_per_request']
    lines += ['', 'throughput, updateable / ordinary: %.3f, the median of the rounds\' own '
              'ratios (%s)' % (res['throughput_ratio'], ', '.join('%.3f' % p for p in pairs))]
    if ipr is None:
        lines += ['', 'instructions per request: not counted (valgrind is not installed)']
    else:
        lines += ['', 'instructions per request in the server (callgrind, one client, the '
                  'same 4,000 requests): ordinary %.0f, updateable %.0f, ratio %.3f' % (
                      ipr['ordinary'], ipr['updateable'], ipr['updateable'] / ipr['ordinary'])]
    return '\n'.join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='2 rounds of 1.5 s')
    ap.add_argument('--rounds', type=int)
    ap.add_argument('--seconds', type=float)
    ap.add_argument('--clients', type=int, default=4)
    ap.add_argument('--json')
    opts = ap.parse_args(argv)
    return common.run_alone('server', lambda work: measure(work, opts.quick, opts.rounds, opts.seconds, opts.clients), table, opts.json)


if __name__ == '__main__':
    sys.exit(main())
