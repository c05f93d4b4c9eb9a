"""`dsu demo`: a live update of the example server, twice, on screen.

It does what a developer would: copies examples/kvd/v1 into a work
directory, adopts dsu there (`dsu init`), builds it updateable, starts it,
opens a client connection, then edits the sources into v2 and v3, builds
each patch with `scons patch` and applies it with `dsu apply` while the
client stays connected.  Each step checks what it shows; the demo exits 1
if the connection or the state did not survive.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile

from .adopt import init

_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_example():
    for base in (os.getcwd(), _PARENT):
        path = os.path.join(base, 'examples', 'kvd')
        if os.path.isdir(os.path.join(path, 'v1')):
            return path
    raise FileNotFoundError('examples/kvd not found: run `dsu demo` from a '
                            'checkout of the dsu repository')


class DemoFailed(Exception):
    pass


class Line:
    """One persistent client connection, speaking kvd's line protocol."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=10)
        self.file = self.sock.makefile('rb')
        self.local = self.sock.getsockname()

    def ask(self, request, expect=None, note=''):
        self.sock.sendall(request.encode() + b'\n')
        reply = self.file.readline().decode().rstrip('\r\n')
        print('      > %-18s %-36s %s' % (request, reply, note))
        if expect is not None and reply != expect:
            raise DemoFailed('%r answered %r, expected %r' % (request, reply, expect))
        return reply


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (_PARENT, env.get('PYTHONPATH')) if p)
    return env


def _run(args, cwd, show):
    print('    $ ' + show)
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=_env())
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
        raise DemoFailed('%s failed' % show)
    return proc.stdout


def _scons(work, *args):
    out = _run([sys.executable, '-m', 'SCons', '-Q'] + list(args), work,
               'scons ' + ' '.join(args))
    return [l for l in out.splitlines() if l.startswith('  ')]


def _switch_sources(example, work, version):
    for name in os.listdir(os.path.join(example, version)):
        shutil.copy(os.path.join(example, version, name), os.path.join(work, name))


def _apply(work, pid, patch):
    out = _run([sys.executable, '-m', 'dsu_tool', 'apply', str(pid), patch], work,
               'dsu apply %d %s' % (pid, patch))
    print('      ' + out.strip())


def run_demo(directory=None, keep=False):
    try:
        example = find_example()
    except FileNotFoundError as e:
        print('dsu demo: %s' % e, file=sys.stderr)
        return 2
    work = directory or tempfile.mkdtemp(prefix='dsu-demo-')
    os.makedirs(work, exist_ok=True)
    server = None
    print('dsu demo: a live update of kvd, a small key-value server\n'
          'work directory: %s\n' % work)
    try:
        _switch_sources(example, work, 'v1')
        init(work)
        print('[1] the developer adopts dsu (`dsu init`; the SConstruct says '
              "tools=['default', 'dsu']) and builds v1, updateable")
        _scons(work, 'dsu=1', 'version=v1')
        shutil.copy(os.path.join(work, 'kvd'), os.path.join(work, 'kvd-running'))
        server = subprocess.Popen([os.path.join(work, 'kvd-running'), '0'],
                                  stdout=subprocess.PIPE, cwd=work)
        banner = server.stdout.readline().decode().strip()
        port = int(banner.rsplit(' ', 1)[1])
        print('\n[2] it runs: %s (pid %d); a client connects and stays connected'
              % (banner, server.pid))
        c = Line(port)
        c.ask('HELLO alice', 'OK')
        c.ask('SET n 41', 'OK')
        c.ask('SET greeting hello', 'OK')
        c.ask('WHO', 'alice 4', 'per-connection state: name and request count')
        c.ask('STATS')
        c.ask('VERSION', 'kvd v1')

        print('\n[3] the sources are edited into v2; build it and the patch')
        _switch_sources(example, work, 'v2')
        _scons(work, 'dsu=1', 'version=v2')
        for line in _scons(work, 'patch', 'from=v1', 'to=v2'):
            print('     ' + line)
        print('\n[4] apply it to the running server')
        _apply(work, server.pid, 'kvd.v1-to-v2.patch.so')
        print('\n[5] same process, same connection, new code:')
        c.ask('VERSION', 'kvd v2', 'a changed constant')
        c.ask('WHO', 'name=alice requests=8', 'new format, the count went on')
        c.ask('INCR n', '42', 'a new command on a value stored by v1')
        c.ask('DEL greeting', 'DELETED hello', 'a function whose signature changed')
        c.ask('MOTD', 'welcome to kvd', 'a new global, as initialised in v2')
        c.ask('STATS')

        print('\n[6] and once more: v2 -> v3')
        _switch_sources(example, work, 'v3')
        _scons(work, 'dsu=1', 'version=v3')
        for line in _scons(work, 'patch', 'from=v2', 'to=v3'):
            print('     ' + line)
        _apply(work, server.pid, 'kvd.v2-to-v3.patch.so')
        c.ask('VERSION', 'kvd v3')
        c.ask('EXISTS n', '1', 'a static function made global, used by new code')
        c.ask('COUNT n', '1', 'a new parameter')
        c.ask('GET n', '42')
        c.ask('READS n', '1', 'a field added to struct entry; v1 data converted')
        c.ask('WHO', 'name=alice requests=18')
        status = _run([sys.executable, '-m', 'dsu_tool', 'status', str(server.pid)], work,
                      'dsu status %d' % server.pid)
        print('      ' + status.strip().replace('\n', '\n      '))
        if c.sock.getsockname() != c.local or server.poll() is not None:
            raise DemoFailed('the connection or the process did not survive')
        print('\nresult: pid %d was never restarted; the connection opened under v1 '
              'is still served by v3 code, with its state.' % server.pid)
        return 0
    except DemoFailed as e:
        print('\ndsu demo FAILED: %s' % e, file=sys.stderr)
        return 1
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait()
        if not keep and directory is None:
            shutil.rmtree(work, ignore_errors=True)
        elif keep:
            print('(work directory kept: %s)' % work)
