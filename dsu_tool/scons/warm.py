"""A warm start for the compiler wrapper under SCons.

Every compile of `scons dsu=1` runs `$DSU_PYTHON -m dsu_tool.cc ... --
CC ARGS`.  Started as a new process, each pays for an interpreter, the
imports of the pass and pycparser's tables: about 0.06 s a unit, a third
of what the pass adds to a small unit.

Here one server process, forked from SCons while it reads the
SConscripts (a single thread then), imports all that once.  The tool's
SPAWN function hands it each wrapper command it would have started; the
server forks a child per command, which takes the command's standard
streams, its environment (SCons' ENV, exactly what the new process would
have had) and the current directory, runs `dsu_tool.cc.main` and reports
its exit status.  The command line, what SCons shows and its build
signatures stay those of the ordinary wrapper.  Any other command, a
wrapper run by another Python than SCons' own ($DSU_PYTHON set), a
command line that needs the shell, or a server that is gone: spawned as
before.

The server talks to SCons over a socket pair it inherits (no path in the
file system); each command gets its own pair, passed as a descriptor.
When SCons exits, the server reads the end of the pair and exits too.
`DSU_WARM=0` in SCons' own environment turns it off.
"""

import atexit
import importlib
import json
import os
import shlex
import signal
import socket
import sys
import threading
import traceback

_CONTROL = None           # the SCons end of the server's socket pair
_LOCK = threading.Lock()
_SHELL_CHARS = set('|&;<>()\n*?[]~{}#')


def start():
    """Fork the server, once per SCons run; False when it cannot be."""
    global _CONTROL
    if _CONTROL is not None:
        return True
    if os.environ.get('DSU_WARM', '1') == '0' or not hasattr(socket, 'send_fds') \
            or threading.active_count() > 1:
        return False
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        status = 0
        try:
            ours.close()
            _serve(theirs)
        except BaseException:
            status = 1
        os._exit(status)
    theirs.close()
    ours.set_inheritable(False)
    _CONTROL = ours
    atexit.register(_stop, pid)
    return True


def _stop(pid):
    """At SCons' exit: end the server and wait for it, so that its time
    counts as SCons' own (as its compiles' did when SCons started them)."""
    global _CONTROL
    if _CONTROL is not None:
        _CONTROL.close()
        _CONTROL = None
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass


def spawn_through(fallback):
    """A SPAWN function for SCons that runs the wrapper's commands in the
    server and hands every other command to FALLBACK (the platform's)."""
    def spawn(sh, escape, cmd, args, env):
        argv = _wrapper_argv(args)
        if argv is not None and _CONTROL is not None:
            status = _run_warm(argv, env)
            if status is not None:
                return status
        return fallback(sh, escape, cmd, args, env)
    spawn._dsu_warm = True
    return spawn


def _wrapper_argv(args):
    """The wrapper's own arguments when ARGS (as SCons escaped them for
    `sh -c`) run `SCons' Python -m dsu_tool.cc` with nothing only a shell
    could do; else None."""
    line = ' '.join(args)
    # what the shell reads inside double quotes too (SCons writes `$` as
    # `\$` there), which shlex would take otherwise
    if set(line) & set('$`\\'):
        return None
    try:
        words = shlex.split(line)
    except ValueError:
        return None
    if len(words) < 3 or words[1:3] != ['-m', 'dsu_tool.cc']:
        return None
    # the same path, not the same file: a venv's python links to the
    # system's, whose packages differ
    if os.path.abspath(words[0]) != os.path.abspath(sys.executable):
        return None
    # quoted words may hold anything; unquoted ones nothing the shell reads
    for word in shlex.split(line, posix=False):
        if word[:1] not in '"\'' and _SHELL_CHARS & set(word):
            return None
    return words[3:]


def _run_warm(argv, env):
    """Run the wrapper with ARGV in a child of the server; its exit
    status, or None when the server could not take it."""
    request = json.dumps({'argv': argv, 'env': {str(k): str(v) for k, v in env.items()},
                          'cwd': os.getcwd()}).encode()
    mine, its = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with _LOCK:
            try:
                socket.send_fds(_CONTROL, [b'c'], [its.fileno(), 0, 1, 2])
            except OSError:
                return None
        its.close()
        mine.sendall(request)
        mine.shutdown(socket.SHUT_WR)
        reply = _read_all(mine)
    except OSError:
        return None
    finally:
        its.close()
        mine.close()
    if not reply:
        # the child died before it could answer (killed, say): as a
        # process killed by a signal would
        print('dsu: the compiler wrapper stopped without a status: %s' % ' '.join(argv),
              file=sys.stderr)
        return 1
    return int(reply.decode())


def _read_all(sock):
    """What SOCK receives until its other end is shut."""
    parts = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b''.join(parts)
        parts.append(chunk)


# -- the server -----------------------------------------------------------------

def _serve(control):
    """The server's loop: a child per command, until SCons is gone."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)     # as a compiler would
    for fd in (0, 1, 2):
        _to_devnull(fd)
    _warm_up()
    while True:
        try:
            _, fds, _, _ = socket.recv_fds(control, 16, 4)
        except (OSError, InterruptedError):
            break
        if not fds:
            break                                     # SCons has exited
        _reap()
        if len(fds) != 4:
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            control.close()
            _child(*fds)
        for fd in fds:
            os.close(fd)
    _reap(block=True)


def _warm_up():
    """Import what a compile uses, and let pycparser compile its tables."""
    for name in ('cc', 'passes.driver'):
        importlib.import_module('dsu_tool.' + name)
    from ..frontend.parse import parse_text
    from ..frontend.preprocess import split
    try:
        parse_text(split('# 1 "warm.c"\ntypedef int t; struct s { t a; };\n'
                         'int f(struct s *p) { return p->a; }\n', 'warm.c', '/'))
    except Exception:
        pass           # only slower


def _reap(block=False):
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _to_devnull(fd):
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, fd)
    os.close(null)


def _child(conn_fd, stdin, stdout, stderr):
    """Run one wrapper command with the caller's streams, environment and
    directory; write its exit status back."""
    status = 1
    conn = socket.socket(fileno=conn_fd)
    try:
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
            os.close(fd)
        # new stream objects: the inherited ones may have been locked by
        # another thread of SCons when the server was forked
        sys.stdin = open(0, 'r', closefd=False)
        sys.stdout = open(1, 'w', closefd=False)
        sys.stderr = open(2, 'w', closefd=False)
        request = json.loads(_read_all(conn).decode())
        os.chdir(request['cwd'])
        os.environ.clear()
        os.environ.update(request['env'])
        sys.argv = ['dsu-cc'] + request['argv']
        from .. import cc
        try:
            status = cc.main(request['argv'])
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            traceback.print_exc()
            status = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        try:
            conn.sendall(str(status if isinstance(status, int) else 1).encode())
            conn.close()
        except OSError:
            pass
        os._exit(0)

