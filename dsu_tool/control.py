"""Client side of the runtime's control protocol.

Every updateable process listens on a Unix socket /tmp/dsu-<euid>/<pid>-<pidns>.sock
in a directory only its owner can enter.  The client finds it through
/proc/PID (the socket among the process's own fds, by /proc/PID/net/unix)
and connects through /proc/PID/root, so that a process in a chroot or in
another mount or pid namespace is reached by the pid the caller sees.
One connection carries one request line and one JSON answer line:

    APPLY <timeout_ms> sha256:<hex> <absolute patch path>\\n  (+ the file, SCM_RIGHTS)
    STATUS\\n

Before it sends anything the client checks that the kernel would let the
caller attach a debugger to the process (the runtime checks again), and
that the peer of the connection is that very process.  The patch travels
as the file the client opened (O_NOFOLLOW), with the digest of the bytes
the client read, so the process loads exactly the file that was named.

The answer is returned as a dict, whatever it says (``ok`` false included):
the runtime's verdict is data for the caller.  ``ControlError`` is raised
only when no verdict could be had at all.
"""

import array
import glob
import hashlib
import json
import os
import re
import socket
import stat
import struct
import time

# Margin over the update-point timeout for the runtime to check and load
# the patch before it starts waiting, and to answer afterwards.
ANSWER_MARGIN_S = 5.0

CAP_SYS_PTRACE = 19
_SOCKET_PATH = re.compile(r'^/tmp/dsu-\d+/\d+(-\d+)?\.sock$')
_SO_ACCEPTCON = 0x10000


class ControlError(Exception):
    """No answer from the process.  ``code`` is 'bad-input' when the pid is
    not an updateable process, 'rejected' when the caller may not update
    it, 'error' when the conversation failed."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def _status_fields(path):
    fields = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(':')
            fields[key] = value.split()
    return fields


def _read_status(pid):
    try:
        return _status_fields('/proc/%d/status' % pid)
    except FileNotFoundError:
        raise ControlError('bad-input', 'no such process: %d' % pid) from None
    except OSError as e:
        raise ControlError('error', 'cannot read /proc/%d/status: %s' % (pid, e.strerror)) \
            from None


def _caller_may_trace_anyone():
    caps = _status_fields('/proc/self/status').get('CapEff', ['0'])[0]
    return (int(caps, 16) >> CAP_SYS_PTRACE) & 1 == 1


def check_may_update(pid):
    """Raises ControlError('rejected') unless the kernel's rule for
    attaching a debugger (mode ATTACH, real credentials) lets this process
    at PID: CAP_SYS_PTRACE, or the same uid and gid as PID's real,
    effective and saved ones with PID dumpable.  Returns PID's status."""
    fields = _read_status(pid)
    if _caller_may_trace_anyone():
        return fields
    uid, gid = os.geteuid(), os.getegid()
    uids = [int(u) for u in fields['Uid'][:3]]
    gids = [int(g) for g in fields['Gid'][:3]]
    if uids != [uid] * 3:
        raise ControlError('rejected', 'uid %d may not update process %d: it runs as uid %d '
                           '(real), %d (effective), %d (saved); only a caller whose uid is all '
                           'three, or root (CAP_SYS_PTRACE), may' % (uid, pid, *uids))
    if gids != [gid] * 3:
        raise ControlError('rejected', 'gid %d may not update process %d: it runs as gid %d '
                           '(real), %d (effective), %d (saved); only a caller whose gid is all '
                           'three, or root (CAP_SYS_PTRACE), may' % (gid, pid, *gids))
    # the kernel gives a process that is not dumpable to root in /proc
    try:
        owner = os.stat('/proc/%d/status' % pid).st_uid
    except OSError:
        owner = None
    if owner != uid:
        raise ControlError('rejected', 'process %d is not dumpable (it changed its credentials '
                           'or asked not to be traced): only root (CAP_SYS_PTRACE) may update '
                           'it' % pid)
    return fields


def _has_runtime(pid):
    try:
        with open('/proc/%d/exe' % pid, 'rb') as f:
            return b'dsu__update_point' in f.read()
    except OSError:
        return False


# How long a program that closed the runtime's socket is given to listen
# anew: the runtime may first sit out its 2 s request deadline and its
# once-a-second retry, and a loaded machine stretches both.
REMAKE_WAIT_S = 5.0


def find_channel(pid):
    """The path, reachable from here, of the socket process PID listens on."""
    deadline = time.monotonic() + REMAKE_WAIT_S
    while True:
        try:
            return _find_channel(pid)
        except ControlError as e:
            if e.code != 'error' or time.monotonic() > deadline:
                raise
            _knock(pid)
            time.sleep(0.05)


def _knock(pid):
    """A program that closed the runtime's socket (daemons close every
    fd) leaves the runtime waiting on it: a connection to the socket's
    path wakes it to listen anew.  Nothing is sent."""
    try:
        nspid = _read_status(pid).get('NSpid', [str(pid)])[-1]
    except ControlError:
        return
    for path in glob.glob('/proc/%d/root/tmp/dsu-*/%s-*.sock' % (pid, nspid)):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(0.5)
            s.connect(path)
        except OSError:
            pass
        finally:
            s.close()


def check_sandbox(pid):
    """Refuses a process whose control thread runs under a seccomp filter:
    the filter may kill the process for a call the runtime makes.  A
    sandboxed program receives updates in polling mode instead, where no
    such thread exists (see the README for the calls to allow)."""
    try:
        tasks = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return
    for tid in tasks:
        try:
            with open('/proc/%d/task/%s/comm' % (pid, tid)) as f:
                if f.read().strip() != 'dsu-control':
                    continue
            mode = _status_fields('/proc/%d/task/%s/status' % (pid, tid)).get('Seccomp', ['0'])
        except OSError:
            continue
        if mode[0] != '0':
            raise ControlError('rejected', 'process %d runs its dsu control thread under a '
                               'seccomp filter, which may kill the process for the calls the '
                               'runtime makes; run it with DSU_CONTROL=poll and allow the calls '
                               'the dsu README lists' % pid)


def _find_channel(pid):
    inodes = set()
    try:
        for fd in os.listdir('/proc/%d/fd' % pid):
            try:
                link = os.readlink('/proc/%d/fd/%s' % (pid, fd))
            except OSError:
                continue
            if link.startswith('socket:['):
                inodes.add(link[8:-1])
        with open('/proc/%d/net/unix' % pid) as f:
            rows = [line.split() for line in f.readlines()[1:]]
    except FileNotFoundError:
        raise ControlError('bad-input', 'no such process: %d' % pid) from None
    except OSError as e:
        raise ControlError('rejected', 'cannot look into process %d: %s' % (pid, e.strerror)) \
            from None
    for row in rows:
        # Num RefCount Protocol Flags Type St Inode Path
        if len(row) == 8 and row[6] in inodes and int(row[3], 16) & _SO_ACCEPTCON and \
                _SOCKET_PATH.match(row[7]):
            return '/proc/%d/root%s' % (pid, row[7])
    if _has_runtime(pid):
        raise ControlError('error', 'process %d runs the dsu runtime but has no control channel: '
                           'it could not make one (its standard error says why)' % pid)
    raise ControlError('bad-input',
                       'process %d is not an updateable program (no dsu runtime)' % pid)


def connect(pid, timeout_s):
    """A connection to process PID's runtime, checked to be served by PID
    itself (its peer, as the kernel reports it)."""
    if not isinstance(pid, int) or pid <= 0:
        raise ControlError('bad-input', 'invalid pid %r' % (pid,))
    check_may_update(pid)
    check_sandbox(pid)
    path = find_channel(pid)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout_s)
        sock.connect(path)
        peer_pid, _, _ = struct.unpack('3i', sock.getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i')))
    except FileNotFoundError:
        sock.close()
        raise ControlError('bad-input', 'process %d is not an updateable program (its channel '
                           'is gone)' % pid) from None
    except OSError as e:
        sock.close()
        raise ControlError('error', 'cannot connect to process %d: %s' % (pid, e)) from None
    if peer_pid != pid:
        sock.close()
        raise ControlError('error', 'the channel of process %d is served by process %d: '
                           'refusing to talk to it' % (pid, peer_pid))
    return sock


def _exchange(pid, line, wait_s, fds=()):
    sock = connect(pid, wait_s)
    try:
        try:
            if fds:
                sock.sendmsg([line + b"\n"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                               array.array('i', fds))])
            else:
                sock.sendall(line + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # it may have answered (refused) before reading: read on
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        raise ControlError(
            "error", "process %d did not answer within %.1f s" % (pid, wait_s)
        ) from None
    except OSError as e:
        raise ControlError("error", "talking to process %d: %s" % (pid, e)) from None
    finally:
        sock.close()
    if not data.endswith(b"\n"):
        raise ControlError(
            "error", "process %d closed the connection without answering" % pid
        )
    try:
        answer = json.loads(data.decode("utf-8"))
    except ValueError as e:
        raise ControlError(
            "error", "process %d answered something that is not JSON: %s" % (pid, e)
        ) from None
    if not isinstance(answer, dict) or "ok" not in answer:
        raise ControlError("error", "process %d answered %r" % (pid, answer))
    return answer


def open_patch(patch_path):
    """Opens the patch as the file the process will load: no symbolic link
    followed at its last step, a regular file.  Returns (fd, sha256 hex)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
    try:
        fd = os.open(patch_path, flags)
    except OSError as e:
        if e.errno == getattr(os, 'ELOOP', 40):
            raise ControlError('bad-input', 'patch %s is a symbolic link; name the file itself '
                               '(%s)' % (patch_path, os.path.realpath(patch_path))) from None
        raise ControlError('bad-input', 'cannot read patch %s: %s'
                           % (patch_path, e.strerror)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ControlError('bad-input', '%s is not a regular file' % patch_path)
        digest = hashlib.sha256()
        offset = 0
        while True:
            chunk = os.pread(fd, 1 << 20, offset)
            if not chunk:
                break
            digest.update(chunk)
            offset += len(chunk)
        return fd, digest.hexdigest()
    except OSError as e:
        os.close(fd)
        raise ControlError('bad-input', 'cannot read patch %s: %s'
                           % (patch_path, e.strerror)) from None
    except ControlError:
        os.close(fd)
        raise


def request_apply(pid, patch_path, timeout_s):
    """Asks process PID to apply the patch at PATCH_PATH at its next update
    point, waiting at most TIMEOUT_S seconds for one.  Returns the runtime's
    answer; its 'code' is 'applied', 'rejected', 'bad-input' or 'timeout'."""
    path = os.fsencode(os.path.abspath(patch_path))
    if b"\n" in path or b"\0" in path:
        raise ControlError("bad-input", "the patch path contains a newline or NUL")
    fd, digest = open_patch(patch_path)
    try:
        timeout_ms = max(0, int(round(timeout_s * 1000)))
        line = b"APPLY %d sha256:%s %s" % (timeout_ms, digest.encode(), path)
        return _exchange(pid, line, timeout_s + ANSWER_MARGIN_S, fds=[fd])
    finally:
        os.close(fd)


def request_status(pid):
    """Returns process PID's version, applied patches and pending state."""
    return _exchange(pid, b"STATUS", ANSWER_MARGIN_S)
