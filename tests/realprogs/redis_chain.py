"""Redis 2.0.0 -> 2.0.4, built with dsu and updated live release after release.

    python tests/realprogs/redis_chain.py [--via scons|make|both] [--work DIR]
                                          [--tcl all|last|none]

The five releases (../shared/realprogs/redis, or $DSU_REALPROGS/redis) are
put one after the other into one project, each with one update point per
turn of its event loop: `DSU_update();` at the head of the loop in aeMain
(ae.c), and `#include <dsu.h>`.  That edit is the only change to redis's
sources.  Each release is built twice, the ordinary way and updateable,
each build in a tree of its own that the next release is put over (a
rebuild of what changed, as a developer's would be):

- via scons: an SConstruct with the flags of redis's Makefile, `scons`
  and `scons dsu=1 version=2.0.x`; `scons patch` builds each step's patch;
- via make: redis's own, unmodified Makefile, `make CC="cc
  -Wl,--no-as-needed"` and `make CC="dsu cc --version-name 2.0.x -- cc
  -Wl,--no-as-needed"` (its link line puts -lm before the objects, which
  the linker drops without --no-as-needed, the ordinary build too);
  `dsu patch --from A --to B redis-server` builds each step's patch.

The live chain starts 2.0.0 updateable, fills it with data of every type
(strings, integers, lists, sets, sorted sets, hashes, keys with an
expiry), keeps two clients connected, and applies the four patches in
that one process.  After each step: INFO reports the new redis_version,
all data and both connections are intact, and a BGSAVE (which forks)
writes a dump that the same release's ordinary build loads with the
same data.

redis's own Tcl suite (`tclsh tests/test_helper.tcl`, which starts its
own `./redis-server`) then runs against a server that starts as 2.0.0
updateable and is patched up to the release under test before the
harness talks to it (tests/realprogs/redis-server.sh), and against that
release's ordinary build; the updated process must fail no test the
ordinary build passes.

Figures (build and patch times, patch sizes, pauses, hand-written lines,
peak RSS) are printed as tables and kept in the figures build_scons() and
build_make() return (bench/redis_chain.py prints them with ratios).
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RELEASES = ['2.0.0', '2.0.1', '2.0.2', '2.0.3', '2.0.4']
UNITS = ('adlist.c ae.c anet.c dict.c redis.c sds.c zmalloc.c lzf_c.c lzf_d.c pqsort.c '
         'zipmap.c sha1.c')

# The flags of redis 2.0's Makefile (its DEBUG adds -rdynamic -ggdb).
SCONSTRUCT = """\
env = Environment(tools=['default', 'dsu'])
env.Append(CCFLAGS=['-std=c99', '-pedantic', '-O2', '-Wall', '-W', '-g', '-ggdb'],
           LINKFLAGS=['-rdynamic'], LIBS=['m', 'pthread'])
env.Program('redis-server', Split('%s'))
""" % UNITS

# The ordinary build also makes the AOF checker the Tcl suite runs.
PLAIN_SCONSTRUCT = SCONSTRUCT + (
    "env.Program('redis-check-aof', Split('redis-check-aof.c anet.c sds.c adlist.c "
    "zmalloc.c'))\n")

# The upstream replication test reads the slave one second after writing
# to the master; on a loaded machine the ordinary build fails it too.
TIMING_TESTS = {'SET on the master should immediately propagate'}
# The number of tests in a release's own Tcl suite (a run that stops
# early or skips some is not a pass).
TCL_TESTS = {'2.0.4': 545}


def sources():
    """The directory holding redis-2.0.0 ... redis-2.0.4, or None."""
    for base in (os.environ.get('DSU_REALPROGS'),
                 os.path.join(os.path.dirname(ROOT), 'shared', 'realprogs')):
        if base and all(os.path.isdir(os.path.join(base, 'redis', 'redis-' + r))
                        for r in RELEASES):
            return os.path.join(base, 'redis')
    return None


def tool_env():
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (ROOT, env.get('PYTHONPATH')) if p)
    return env


def _run(argv, cwd, **kw):
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=tool_env(), **kw)
    if p.returncode != 0:
        raise AssertionError('%s failed in %s:\n%s\n%s' % (' '.join(argv), cwd,
                                                            p.stdout[-4000:], p.stderr[-4000:]))
    return p


def scons(cwd, *args):
    return _run([sys.executable, '-m', 'SCons', '-Q', '-j2'] + list(args), cwd)


def dsu(*args, cwd=None):
    return subprocess.run([sys.executable, '-m', 'dsu_tool'] + [str(a) for a in args],
                          cwd=cwd, capture_output=True, text=True, env=tool_env())


UPDATE_POINT_LINES = 2


def with_update_point(text):
    """ae.c's TEXT with one update point per turn of the event loop."""
    new = text.replace(b'#include "ae.h"\n', b'#include "ae.h"\n#include <dsu.h>\n', 1)
    new = new.replace(b'    while (!eventLoop->stop) {\n',
                      b'    while (!eventLoop->stop) {\n        DSU_update();\n', 1)
    assert new.count(b'DSU_update();') == 1 and b'<dsu.h>' in new, 'aeMain not found'
    return new


def put_release(src, tree, release, whole=False):
    """Put RELEASE's sources (with WHOLE, every file of its top directory:
    its Makefile and scripts too) over TREE, with the update point; return
    the number of lines added to redis's sources.  Only files whose content
    differs are written: Make rebuilds by time."""
    rel = os.path.join(src, 'redis-' + release)
    os.makedirs(tree, exist_ok=True)
    for name in sorted(os.listdir(rel)):
        path = os.path.join(rel, name)
        if not os.path.isfile(path) or not (whole or name.endswith(('.c', '.h'))):
            continue
        with open(path, 'rb') as f:
            text = f.read()
        if name == 'ae.c':
            text = with_update_point(text)
        dest = os.path.join(tree, name)
        if os.path.exists(dest):
            with open(dest, 'rb') as f:
                if f.read() == text:
                    continue
        with open(dest, 'wb') as f:
            f.write(text)
        os.chmod(dest, os.stat(path).st_mode | 0o200)
    subprocess.run(['sh', os.path.join(rel, 'mkreleasehdr.sh')], cwd=tree,
                   capture_output=True)
    return UPDATE_POINT_LINES


def _timed(run, *args):
    t0 = time.time()
    out = run(*args)
    return out, round(time.time() - t0, 1)


def _keep_ordinary(work, tree, release):
    """The ordinary build of RELEASE kept in WORK/plain-RELEASE (its
    redis-server loads each step's dump; redis-check-aof is for the Tcl
    suite) before the next release is built over TREE."""
    keep = os.path.join(work, 'plain-' + release)
    os.makedirs(keep, exist_ok=True)
    for name in ('redis-server', 'redis-check-aof'):
        shutil.copy(os.path.join(tree, name), keep)


def _release_figures(release, t_plain, t_dsu, out, added):
    summary = [line for line in out.splitlines() if line.startswith('dsu: redis-server')]
    return {'plain_s': t_plain, 'dsu_s': t_dsu, 'lines_added': added,
            'summary': summary[-1] if summary else ''}


def _step_figures(project, a, b, out, took):
    patch = os.path.join(project, 'redis-server.%s-to-%s.patch.so' % (a, b))
    return {'from': a, 'to': b, 'patch_s': took,
            'patch_kb': round(os.path.getsize(patch) / 1024),
            'changed_functions': len(re.findall(r'^  changed function', out, re.M)),
            'rebound_functions': len(re.findall(r'^  rebound function', out, re.M)),
            'handwritten_lines': _handwritten_lines(project, a, b),
            'patch': patch, 'summary': out}


def build_scons(work, src):
    """Build every release both ways with SCons and every patch with
    `scons patch`; return the figures."""
    project = os.path.join(work, 'project')
    plain = os.path.join(work, 'plain')
    os.makedirs(project)
    os.makedirs(plain)
    with open(os.path.join(project, 'SConstruct'), 'w') as f:
        f.write(SCONSTRUCT)
    assert dsu('init', project).returncode == 0
    with open(os.path.join(plain, 'SConstruct'), 'w') as f:
        f.write(PLAIN_SCONSTRUCT)
    shutil.copytree(os.path.join(project, 'site_scons'), os.path.join(plain, 'site_scons'))
    figures = {'via': 'scons', 'work': work, 'project': project, 'releases': {},
               'steps': []}
    for release in RELEASES:
        put_release(src, plain, release)
        _, t_plain = _timed(scons, plain)
        _keep_ordinary(work, plain, release)
        added = put_release(src, project, release)
        out, t_dsu = _timed(scons, project, 'dsu=1', 'version=' + release)
        shutil.copy(os.path.join(project, 'redis-server'),
                    os.path.join(project, 'redis-server.' + release))
        figures['releases'][release] = _release_figures(release, t_plain, t_dsu,
                                                        out.stdout, added)
    for a, b in zip(RELEASES, RELEASES[1:]):
        out, took = _timed(scons, project, 'patch', 'from=' + a, 'to=' + b)
        figures['steps'].append(_step_figures(project, a, b, out.stdout, took))
    return figures


# redis 2.0's link line is `$(CC) -o redis-server -lm -pthread ... $(OBJ)`:
# libraries before the objects, which a linker run --as-needed (Debian's
# gcc) drops; the ordinary build needs this as much as the updateable one.
MAKE_CC = 'cc -Wl,--no-as-needed'


def make(tree, cc, *targets):
    return _run(['make', '-j2', '--no-print-directory', 'CC=' + cc] + list(targets), tree)


def dsu_cc(release):
    """CC for redis's Makefile: `dsu cc --version-name RELEASE -- cc ...`."""
    return '%s -m dsu_tool cc --version-name %s -- %s' % (sys.executable, release, MAKE_CC)


def build_make(work, src):
    """Build every release both ways with redis's own Makefile (the
    updateable way through `dsu cc`, all five releases in one tree, which
    is the dsu project, so the versions of redis-server are recorded side
    by side) and every patch with `dsu patch`; return the figures."""
    project = os.path.join(work, 'make-dsu')
    plain = os.path.join(work, 'make-plain')
    # the ordinary build finds <dsu.h> (DSU_update() is empty there); the
    # Makefile's compile rule takes no CPPFLAGS
    include = dsu('cc', '--print-include-dir').stdout.strip()
    figures = {'via': 'make', 'work': work, 'project': project, 'releases': {},
               'steps': []}
    for release in RELEASES:
        put_release(src, plain, release, whole=True)
        _, t_plain = _timed(make, plain, '%s -I%s' % (MAKE_CC, include))
        _keep_ordinary(work, plain, release)
        added = put_release(src, project, release, whole=True)
        out, t_dsu = _timed(make, project, dsu_cc(release))
        shutil.copy(os.path.join(project, 'redis-server'),
                    os.path.join(project, 'redis-server.' + release))
        figures['releases'][release] = _release_figures(release, t_plain, t_dsu,
                                                        out.stdout, added)
    for a, b in zip(RELEASES, RELEASES[1:]):
        out, took = _timed(_run, [sys.executable, '-m', 'dsu_tool', 'patch', '--from', a,
                                  '--to', b, 'redis-server'], project)
        figures['steps'].append(_step_figures(project, a, b, out.stdout, took))
    return figures


def _handwritten_lines(project, a, b):
    """Lines of transformer code written by hand for step A -> B (the
    files scons patch asks for under dsu/; none is expected)."""
    total = 0
    xf = os.path.join(project, 'dsu')
    for name in sorted(os.listdir(xf)) if os.path.isdir(xf) else []:
        if '.%s-to-%s.' % (a, b) in name:
            with open(os.path.join(xf, name)) as f:
                total += sum(1 for line in f if line.strip())
    return total


# -- a small client ---------------------------------------------------------

class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=10)
        self.file = self.sock.makefile('rb')

    def __call__(self, *args):
        self.sock.sendall(b'*%d\r\n' % len(args) + b''.join(
            b'$%d\r\n%s\r\n' % (len(a.encode()), a.encode()) for a in map(str, args)))
        return self._read()

    def _read(self):
        line = self.file.readline().rstrip(b'\r\n')
        kind, rest = line[:1], line[1:].decode()
        if kind in (b'+', b':'):
            return rest
        if kind == b'-':
            return 'ERR ' + rest
        if kind == b'$':
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2].decode()
        if kind == b'*':
            return [self._read() for _ in range(int(rest))]
        raise AssertionError('bad reply %r' % line)

    def info(self, field):
        for line in self('INFO').split('\r\n'):
            if line.startswith(field + ':'):
                return line.split(':', 1)[1]
        return None

    def close(self):
        self.sock.close()


def fill(c):
    c('FLUSHALL')
    c('SET', 'str', 'hello world')
    c('SET', 'num', '41')
    c('INCR', 'num')
    for v in ('a', 'b', 'c'):
        c('RPUSH', 'list', v)
    for v in ('x', 'y'):
        c('SADD', 'set', v)
    c('ZADD', 'zset', '1.5', 'one')
    c('ZADD', 'zset', '2.5', 'two')
    c('HSET', 'hash', 'field', 'value')
    c('HSET', 'hash', 'other', '7')
    c('SET', 'expiring', 'soon')
    c('EXPIRE', 'expiring', '3600')
    for i in range(200):
        c('SET', 'key:%d' % i, 'value %d' % i)


def contents(c):
    """The data fill() wrote, as read back (the TTL rounded to hours)."""
    ttl = int(c('TTL', 'expiring'))
    return {'str': c('GET', 'str'), 'num': c('GET', 'num'),
            'list': c('LRANGE', 'list', '0', '-1'), 'set': sorted(c('SMEMBERS', 'set')),
            'zset': c('ZRANGE', 'zset', '0', '-1', 'WITHSCORES'),
            'hash': sorted(c('HGETALL', 'hash')), 'expiring': c('GET', 'expiring'),
            'ttl_hours': round(ttl / 3600.0), 'dbsize': c('DBSIZE'),
            'key:123': c('GET', 'key:123')}


def start(binary, port, workdir, prefix=(), wait=5.0):
    """redis-server BINARY on PORT, working in WORKDIR, run under PREFIX
    (a command, such as valgrind's); it must listen within WAIT seconds."""
    os.makedirs(workdir, exist_ok=True)
    conf = os.path.join(workdir, 'redis.conf')
    with open(conf, 'w') as f:
        f.write('port %d\ndir %s\ndbfilename dump.rdb\nloglevel notice\nlogfile %s\n'
                % (port, workdir, os.path.join(workdir, 'log')))
    proc = subprocess.Popen(list(prefix) + [binary, conf], cwd=workdir)
    for _ in range(int(wait / 0.05)):
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError('%s did not start' % binary)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stop(proc, timeout=10):
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def peak_rss_kb(pid):
    """The peak resident set (VmHWM) of process PID so far."""
    with open('/proc/%d/status' % pid) as f:
        return int(re.search(r'^VmHWM:\s+(\d+) kB', f.read(), re.M).group(1))


def live_chain(figures, work, after=None):
    """Start 2.0.0 updateable, patch it to 2.0.4 step by step; check data,
    connections, INFO and a BGSAVE loaded by each release's ordinary build.
    The server's peak RSS before the first step and after the last goes to
    figures['rss_kb']; AFTER(port, pid), if given, runs on the updated
    server before it stops."""
    project = figures['project']
    port = free_port()
    run = os.path.join(work, 'live')
    server = start(os.path.join(project, 'redis-server.2.0.0'), port, run)
    try:
        a, b = Client(port), Client(port)
        fill(a)
        expected = contents(a)
        b('SELECT', '0')
        assert a.info('redis_version') == '2.0.0'
        figures['rss_kb'] = {'before': peak_rss_kb(server.pid)}
        for step in figures['steps']:
            r = dsu('apply', server.pid, step['patch'], '--json')
            answer = json.loads(r.stdout)
            assert r.returncode == 0, r.stdout + r.stderr
            step['pause_us'] = round(answer['pause_ns'] / 1000.0, 1)
            step['apply_ms'] = answer['total_ms']
            assert b('PING') == 'PONG'               # both connections survive
            assert a.info('redis_version') == step['to']
            assert contents(a) == expected, step['to']
            assert contents(b) == expected
            os.path.exists(os.path.join(run, 'dump.rdb')) and os.remove(
                os.path.join(run, 'dump.rdb'))
            assert a('BGSAVE') == 'Background saving started'
            for _ in range(200):
                if a.info('bgsave_in_progress') == '0' and \
                        os.path.exists(os.path.join(run, 'dump.rdb')):
                    break
                time.sleep(0.05)
            step['dump_loaded_by_plain'] = _plain_loads(
                os.path.join(work, 'plain-' + step['to'], 'redis-server'),
                os.path.join(run, 'dump.rdb'), os.path.join(work, 'load-' + step['to']),
                expected)
        figures['rss_kb']['after'] = peak_rss_kb(server.pid)
        a.close()
        b.close()
        if after:
            after(port, server.pid)
    finally:
        stop(server)


def _plain_loads(binary, dump, workdir, expected):
    os.makedirs(workdir, exist_ok=True)
    shutil.copy(dump, os.path.join(workdir, 'dump.rdb'))
    port = free_port()
    proc = start(binary, port, workdir)
    try:
        c = Client(port)
        got = contents(c)
        c.close()
    finally:
        stop(proc)
    assert got == expected, (got, expected)
    return True


# -- redis's own Tcl suite ------------------------------------------------------

WRAPPER = os.path.join(HERE, 'redis-server.sh')


def tcl_suite(work, release, server, name, env=None):
    """Run redis RELEASE's Tcl suite with ./redis-server being SERVER (a
    binary, or the wrapper script and the ENV it needs: updated_server);
    return (passed, failed test names)."""
    tree = os.path.join(work, 'tcl-%s-%s' % (name, release))
    shutil.copytree(os.path.join(sources(), 'redis-' + release, 'tests'),
                    os.path.join(tree, 'tests'))
    os.symlink(server, os.path.join(tree, 'redis-server'))
    os.symlink(os.path.join(work, 'plain-' + release, 'redis-check-aof'),
               os.path.join(tree, 'redis-check-aof'))
    p = subprocess.run(['tclsh', 'tests/test_helper.tcl'], cwd=tree, capture_output=True,
                       text=True, env=dict(tool_env(), **(env or {})),
                       timeout=1800)
    with open(os.path.join(work, 'tcl-%s-%s.log' % (name, release)), 'w') as f:
        f.write(p.stdout + p.stderr)
    m = re.search(r'^(\d+) tests, (\d+) passed, (\d+) failed$', p.stdout, re.M)
    assert m, 'the Tcl suite did not finish:\n' + (p.stdout + p.stderr)[-3000:]
    failed = re.findall(r'^#\d+ (.*?)\s+!! ', p.stdout, re.M)
    return int(m.group(2)), set(failed)


def updated_server(figures, release):
    """./redis-server for the harness, and its environment: 2.0.0
    updateable, patched up to RELEASE."""
    project = figures['project']
    patches = [s['patch'] for s in figures['steps']
               if RELEASES.index(s['to']) <= RELEASES.index(release)]
    return WRAPPER, {'DSU_REDIS_BASE': os.path.join(project, 'redis-server.2.0.0'),
                     'DSU_REDIS_PATCHES': ' '.join(patches), 'DSU_PYTHON': sys.executable}


PATCH_COMMAND = {'scons': 'scons patch', 'make': 'dsu patch'}
BUILD_COMMAND = {'scons': 'scons dsu=1', 'make': 'make CC="dsu cc ..."'}


def table(figures):
    """The figures of one path as markdown tables: the steps, the builds."""
    via = figures['via']
    rows = ['| step | %s | patch size | changed functions | rebound | '
            'hand-written lines | pause | dsu apply |' % PATCH_COMMAND[via],
            '|---|---|---|---|---|---|---|---|']
    for s in figures['steps']:
        rows.append('| %s -> %s | %.1f s | %d KB | %d | %d | %d | %s µs | %s ms |' % (
            s['from'], s['to'], s['patch_s'], s['patch_kb'], s['changed_functions'],
            s['rebound_functions'], s['handwritten_lines'], s.get('pause_us', '-'),
            s.get('apply_ms', '-')))
    rows += ['', '| release | ordinary build | %s | ratio | lines added |'
             % BUILD_COMMAND[via], '|---|---|---|---|---|']
    for r, f in figures['releases'].items():
        rows.append('| %s | %.1f s | %.1f s | %.2fx | %d |' % (
            r, f['plain_s'], f['dsu_s'], f['dsu_s'] / max(f['plain_s'], 0.1),
            f['lines_added']))
    return '\n'.join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--via', choices=['scons', 'make', 'both'], default='both',
                    help='build with SCons, with redis\'s Makefile and dsu cc, or both')
    ap.add_argument('--work', help='work directory (default: a new one under /tmp)')
    ap.add_argument('--tcl', choices=['all', 'last', 'none'], default='last',
                    help='run the Tcl suite for every release, the last, or none')
    args = ap.parse_args()
    src = sources()
    if src is None:
        sys.exit('redis sources not found: set DSU_REALPROGS to the realprogs directory')
    top = args.work or tempfile.mkdtemp(prefix='dsu-redis-')
    for via in (['scons', 'make'] if args.via == 'both' else [args.via]):
        work = os.path.join(top, via)
        os.makedirs(work)
        figures = (build_scons if via == 'scons' else build_make)(work, src)
        live_chain(figures, work)
        print('via %s:\n%s' % (via, table(figures)))
        releases = {'all': RELEASES, 'last': RELEASES[-1:], 'none': []}[args.tcl]
        for release in releases:
            plain = tcl_suite(work, release, os.path.join(work, 'plain-' + release,
                                                          'redis-server'), 'plain')
            fresh = tcl_suite(work, release, os.path.join(figures['project'],
                                                          'redis-server.' + release), 'fresh')
            wrapper, env = updated_server(figures, release)
            updated = tcl_suite(work, release, wrapper, 'updated', env)
            print('Tcl suite %s: ordinary %d passed, failed %s; updateable %d passed, '
                  'failed %s; updated from 2.0.0: %d passed, failed %s'
                  % (release, plain[0], sorted(plain[1]) or 'none', fresh[0],
                     sorted(fresh[1]) or 'none', updated[0], sorted(updated[1]) or 'none'))
    print('work directory:', top)


if __name__ == '__main__':
    main()
