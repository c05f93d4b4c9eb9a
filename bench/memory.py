"""Memory of updateable programs, measured against the ordinary build.

    python bench/memory.py [--quick] [--json FILE]

Peak resident memory (VmHWM of /proc/PID/status, in KiB) of:
- kvd v1 with its store full (256 keys of 100 bytes; it holds no more);
- the pause program (bench/pause) with 10^5 live items; the updateable
  one also after the type-changing update v2 -> v3 and one traversal of all
  items, which converts every item in place;
- the compute-bound programs of bench/programs, built as
  bench/overhead.py builds them; each reports its own VmHWM as it exits,
  from a destructor preloaded into it (LD_PRELOAD).  The rusage of a child
  is no good here: its peak counts the memory of the Python process that
  started it.

And the size of one instance of structs of 8 to 1024 bytes, from a
program built both ways that prints the distance between two neighbours
in an array: the wrapped size, read off the real build.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import overhead  # noqa: E402
import pause  # noqa: E402

# (name, fields) of the structs whose instance size is measured
STRUCTS = (
    ('s8', 'int a, b;'),
    ('s16', 'long a; int b, c;'),
    ('s40', 'char name[32]; long id;'),
    ('s128', 'char buf[120]; long n;'),
    ('s1024', 'char buf[1016]; long n;'),
)
KVD_KEYS = 256
PAUSE_ITEMS = 100000


def sizes_source():
    lines = ['/* The size of one instance of each struct, read off the distance',
             ' * between two neighbours in an array. */',
             '#include <stdio.h>', '']
    for name, fields in STRUCTS:
        lines.append('struct %s { %s };' % (name, fields))
        lines.append('static struct %s a_%s[2];' % (name, name))
    lines += ['', '#define STRIDE(a) ((long)((char *)&a[1] - (char *)&a[0]))', '',
              'int main(void)', '{']
    for name, _ in STRUCTS:
        lines.append('    printf("%s %%ld\\n", STRIDE(a_%s));' % (name, name))
    lines += ['    return 0;', '}', '']
    return '\n'.join(lines)


def struct_sizes(work):
    work = tempfile.mkdtemp(dir=work)
    d = os.path.join(work, 'sizes-src')
    os.makedirs(d)
    src = os.path.join(d, 'sizes.c')
    with open(src, 'w') as f:
        f.write(sizes_source())
    plain, dsu = overhead.build(src, work)
    got = {}
    for key, binary in (('ordinary', plain), ('updateable', dsu)):
        out = subprocess.run([binary], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            name, size = line.split()
            got.setdefault(name, {})[key] = int(size)
    return [{'struct': name, 'fields': fields, 'ordinary': got[name]['ordinary'],
             'updateable': got[name]['updateable']} for name, fields in STRUCTS]


def fill_kvd(port, keys):
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        f = s.makefile('rb')
        for k in range(keys):
            s.sendall(b'SET key%d %s\n' % (k, (b'%03d' % k) * 33 + b'.'))
            reply = f.readline().strip()
            if reply != b'OK':
                raise RuntimeError('kvd: SET key%d answered %r' % (k, reply))


def kvd_memory(work):
    kvd = common.build_kvd(work)
    out = {}
    for name, key in (('ordinary', 'plain'), ('updateable', 'v1')):
        with common.Server(kvd[key]) as server:
            fill_kvd(server.port, KVD_KEYS)
            out[name] = common.proc_status(server.pid)['VmHWM']
    return out


def pause_memory(work):
    builds = common.build_pause(work)
    sums = pause.expected(PAUSE_ITEMS)
    out = {}
    for name, key in (('ordinary', 'plain'), ('updateable', 'v2')):
        prog = pause.Program(builds[key], PAUSE_ITEMS)
        try:
            out[name] = common.proc_status(prog.proc.pid)['VmHWM']
            if key == 'v2':
                prog.apply(builds['patches']['v2-to-v3'])
                walk = prog.walk()
                bad = pause.check(walk, PAUSE_ITEMS, sums, 'v3')
                if bad:
                    raise RuntimeError('pause program after v2 -> v3: %s' % bad)
                out['updateable, after v2 -> v3 and a walk'] = \
                    common.proc_status(prog.proc.pid)['VmHWM']
        finally:
            prog.stop()
    return out


# Preloaded into a program that runs to its end: writes its VmHWM line to
# the file named by DSU_BENCH_HWM when it exits.
HWM_HOOK = r'''
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((destructor)) static void report_hwm(void)
{
    const char *path = getenv("DSU_BENCH_HWM");
    char buf[8192];
    ssize_t n;
    int fd;

    if (!path || (fd = open("/proc/self/status", O_RDONLY)) < 0)
        return;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    char *line = strstr(buf, "VmHWM:");
    if (!line)
        return;
    char *end = strchr(line, '\n');
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
        return;
    if (write(fd, line, end ? (size_t)(end - line) : strlen(line)) < 0)
        ;
    close(fd);
}
'''


def _hwm_at_exit(binary, hook, work):
    report = os.path.join(work, 'hwm.txt')
    if os.path.exists(report):
        os.remove(report)
    e = dict(os.environ, LD_PRELOAD=hook, DSU_BENCH_HWM=report)
    p = subprocess.run([binary], env=e, stdout=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError('%s exited with %d' % (binary, p.returncode))
    with open(report) as f:
        return int(f.read().split()[1])


def compute_memory(work):
    """{program: {build: {'hwm': KiB, 'static': bytes}, 'structs': ...}} of
    bench/programs, built the three ways of bench/overhead.py."""
    work = tempfile.mkdtemp(dir=work)
    src, hook = os.path.join(work, 'hwm.c'), os.path.join(work, 'hwm.so')
    with open(src, 'w') as f:
        f.write(HWM_HOOK)
    common.run(['gcc', '-O2', '-shared', '-fPIC', '-o', hook, src], what='gcc hwm.c')
    out = {}
    for name, path in overhead.programs():
        bins = overhead.build_all(path, os.path.join(work, name))
        out[name] = {b: {'hwm': _hwm_at_exit(bins[b], hook, work),
                         'static': overhead.static_size(bins[b]),
                         'runtime static': overhead.runtime_static(bins[b], work)}
                     for b in overhead.BUILDS}
        if 'structs' in bins:
            out[name]['structs'] = bins['structs']
    return out


def measure(work, quick=False):
    return {'kvd': kvd_memory(work), 'pause': pause_memory(work),
            'programs': compute_memory(work), 'structs': struct_sizes(work),
            'kvd_keys': KVD_KEYS, 'pause_items': PAUSE_ITEMS}


def table(res):
    lines = ['peak resident memory (VmHWM, KiB); structs: size of one instance in bytes, '
             'read off the built programs', '',
             '| program | ordinary | updateable | ratio |', '|---|---|---|---|']
    k = res['kvd']
    lines.append('| kvd v1, %d keys stored | %d | %d | %.2fx |' % (
        res['kvd_keys'], k['ordinary'], k['updateable'], k['updateable'] / k['ordinary']))
    p = res['pause']
    n = res['pause_items']
    lines.append('| pause program, %s items | %d | %d | %.2fx |' % (
        '{:,}'.format(n), p['ordinary'], p['updateable'], p['updateable'] / p['ordinary']))
    after = p['updateable, after v2 -> v3 and a walk']
    lines.append('| the same, after the type change v2→v3 and a traversal | | %d | %.2fx |' % (
        after, after / p['ordinary']))
    for name, r in res['programs'].items():
        lines.append('| bench/programs/%s | %d | %d | %.2fx |' % (
            name, r['ordinary']['hwm'], r['updateable']['hwm'],
            r['updateable']['hwm'] / r['ordinary']['hwm']))
    lines += ['', 'bench/programs built three ways: ordinary, updateable, updateable with '
              'every struct DSU_FIXED; peak RSS (KiB), static data (.data + .bss, bytes; '
              'ratios without the runtime\'s own, %s bytes where it is linked in: its '
              'connection buffers, not resident until a request comes)' % ', '.join(sorted(
                  set(str(r[b]['runtime static']) for r in res['programs'].values()
                      for b in overhead.BUILDS) - {'0'})) or '0', '',
              '| program | peak RSS ordinary | updateable | ratio | DSU_FIXED | ratio | '
              'static ordinary | updateable | ratio | DSU_FIXED | ratio |',
              '|---|---|---|---|---|---|---|---|---|---|---|']
    for name, r in res['programs'].items():
        o, u, f = (r[b] for b in overhead.BUILDS)
        su, sf = (x['static'] - x['runtime static'] for x in (u, f))
        lines.append('| %s | %d | %d | %.2fx | %d | %.2fx | %d | %d | %.2fx | %d | %.2fx |' % (
            name, o['hwm'], u['hwm'], u['hwm'] / o['hwm'], f['hwm'], f['hwm'] / o['hwm'],
            o['static'], u['static'], su / o['static'], f['static'], sf / o['static']))
    sized = [(name, r['structs']) for name, r in res['programs'].items() if 'structs' in r]
    if sized:
        lines += ['', 'bytes per object', '',
                  '| program | struct | ordinary | updateable | ratio | DSU_FIXED |',
                  '|---|---|---|---|---|---|']
        for name, structs in sized:
            for s, b in structs.items():
                lines.append('| %s | `struct %s` | %d | %d | %.2fx | %d |' % (
                    name, s.replace('struct ', ''), b['ordinary'], b['updateable'],
                    b['updateable'] / b['ordinary'], b['fixed']))
    lines += ['', 'pause program: %.0f bytes more per live item (the difference of the '
              'peaks over %s items)' % ((p['updateable'] - p['ordinary']) * 1024.0 / n,
                                         '{:,}'.format(n)),
              '', '| fields | ordinary | updateable | ratio |', '|---|---|---|---|']
    for s in res['structs']:
        lines.append('| `{ %s }` | %d | %d | %.2fx |' % (
            s['fields'], s['ordinary'], s['updateable'], s['updateable'] / s['ordinary']))
    return '\n'.join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='(the same: it is quick)')
    ap.add_argument('--json')
    opts = ap.parse_args(argv)
    return common.run_alone('memory', lambda work: measure(work, opts.quick), table, opts.json)


if __name__ == '__main__':
    sys.exit(main())
