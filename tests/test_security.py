"""Who may update a process, and with what (issue 12).

Updating a process is as powerful as attaching a debugger to it.  Each
test plays one attack on real processes: the test program of
tests/runtime/prog.c (which can lower its privileges, hold a secret, reuse
its fds or sandbox itself on command) and shared objects
(tests/runtime/patch_evil.c) that leave a line in a marker file if any of
their code runs anywhere.  After every attempt the target must be alive and
on the version it should be on, and the marker must not exist.

The tests run as root and act as unprivileged users through setpriv; the
users (dsusec-a, dsusec-b) are made once, idempotently, and kept.
"""

import array
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from test_runtime import INCLUDE, REPO, RUNTIME_C, SRC, Program, _gcc, wait_for

sys.path.insert(0, str(REPO))
from dsu_tool import control  # noqa: E402

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("useradd"),
    reason="needs root, setpriv and useradd to act as other users")

ENV = dict(os.environ, PYTHONPATH=str(REPO))
ENV.pop("DSU_VERBOSE", None)
ENV.pop("DSU_CONTROL", None)


def _user(name):
    """An unprivileged user, made if need be; parallel runs share it."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", name], capture_output=True)
        return pwd.getpwnam(name)  # made here or by a parallel run


def as_user(user, argv):
    return ["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid,
            "--clear-groups", *map(str, argv)]


def dsu(*args, user=None, timeout=60):
    argv = [sys.executable, "-m", "dsu_tool", *map(str, args)]
    return subprocess.run(as_user(user, argv) if user else argv, cwd="/", env=ENV,
                          capture_output=True, text=True, timeout=timeout)


class Target(Program):
    """The test program, started with ARGV in front of it (setpriv, unshare,
    a chroot ...)."""

    def __init__(self, exe, prefix=(), env=None):
        self.proc = subprocess.Popen([*map(str, prefix), str(exe)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env or ENV)
        self._buf = b""
        first = self.read_line()
        assert first.startswith("ready "), first
        self.inner_pid = int(first.split()[1])
        self.pid = self.inner_pid if not prefix else _exec_pid(self.proc.pid, exe)

    def alive_on(self, version):
        return self.proc.poll() is None and self.ask("version") == version and \
            self.greet(5) == (6 if version == "v1" else 1010)


def _exec_pid(launcher, exe):
    """The pid of the process running EXE that LAUNCHER started (itself,
    or a child of it, as unshare --fork makes)."""
    name = os.path.basename(str(exe))[:15]
    todo = [launcher]
    while todo:
        pid = todo.pop()
        try:
            if Path("/proc/%d/comm" % pid).read_text().strip() == name:
                return pid
            for task in os.listdir("/proc/%d/task" % pid):
                todo += map(int, Path("/proc/%d/task/%s/children" % (pid, task)).read_text()
                            .split())
        except OSError:
            continue
    raise AssertionError("no process runs %s under %d" % (exe, launcher))


@pytest.fixture(scope="module")
def users():
    return SimpleNamespace(a=_user("dsusec-a"), b=_user("dsusec-b"))


@pytest.fixture(scope="module")
def shared():
    """A directory every user can read, for files handed to other users."""
    d = tempfile.mkdtemp(prefix="dsu-security-")
    os.chmod(d, 0o755)
    yield Path(d)
    shutil.rmtree(d, True)


@pytest.fixture(scope="module")
def build(shared):
    d = shared / "build"
    d.mkdir()
    os.chmod(d, 0o755)
    markers = shared / "markers"
    markers.mkdir()
    os.chmod(markers, 0o1777)
    rt = d / "dsu_runtime.o"
    _gcc("-c", "-O2", "-fPIC", "-pthread", "-Wall", "-Wextra", "-Werror", "-I", INCLUDE,
         RUNTIME_C, "-o", rt)
    _gcc("-O2", "-Wall", "-Wextra", "-DDSU_UPDATEABLE", "-I", INCLUDE, SRC / "prog.c",
         SRC / "version_v1.c", rt, "-o", d / "prog", "-pthread", "-ldl")
    so = ["-shared", "-nostartfiles", "-fPIC", "-O2", "-Wall", "-Wextra", "-I", INCLUDE]
    _gcc(*so, SRC / "patch_v1_v2.c", "-o", d / "v1_v2.so")
    evil = {}
    for n in (1, 2, 3, 4, 5):
        marker = markers / ("evil%d" % n)
        _gcc(*so, "-DEVIL=%d" % n, '-DMARKER="%s"' % marker, SRC / "patch_evil.c",
             "-o", d / ("evil%d.so" % n))
        evil[n] = (d / ("evil%d.so" % n), marker)
    for f in d.iterdir():
        os.chmod(f, 0o755)
    return SimpleNamespace(dir=d, prog=d / "prog", v1_v2=d / "v1_v2.so", evil=evil)


@pytest.fixture
def markers(build):
    """No marker left by an earlier test; none may appear during this one."""
    for _, marker in build.evil.values():
        if marker.exists():
            marker.unlink()
    yield
    ran = {m.name: m.read_text() for _, m in build.evil.values() if m.exists()}
    assert ran == {}, "foreign code ran: %s" % ran


def own_copy(src, user, dest_dir):
    """SRC copied into DEST_DIR, owned by USER, as USER's own patch."""
    d = Path(tempfile.mkdtemp(prefix="own-", dir=dest_dir))
    os.chmod(d, 0o755)
    dst = d / src.name
    shutil.copy(src, dst)
    os.chown(dst, user.pw_uid, user.pw_gid)
    os.chmod(dst, 0o644)
    return dst


# A client that skips every check of the CLI and knocks on the runtime's
# door directly, with the patch attached as an open file: the channel of
# this runtime if the user can reach it, else the abstract socket older
# runtimes listened on.
RAW_CLIENT = r"""
import array, glob, json, os, socket, sys
pid, patch = int(sys.argv[1]), sys.argv[2]
paths = glob.glob('/tmp/dsu-%d/%d-*.sock' % (os.geteuid(), pid))
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
try:
    s.connect(paths[0] if paths else b'\0dsu-%d' % pid)
    fd = os.open(patch, os.O_RDONLY)
    s.sendmsg([b'APPLY 5000 %s\n' % patch.encode()],
              [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [fd]))])
    data = b''
    while not data.endswith(b'\n'):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    print(data.decode().strip() or json.dumps({'ok': False, 'code': 'closed'}))
except OSError as e:
    print(json.dumps({'ok': False, 'code': 'unreachable', 'reason': str(e)}))
"""


def raw_apply(user, pid, patch):
    r = subprocess.run(as_user(user, [sys.executable, "-c", RAW_CLIENT, pid, patch]),
                       capture_output=True, text=True, timeout=60, cwd="/")
    return json.loads(r.stdout)


# ---- finding 1: a server that lowered only its effective uid ---------------------


def test_seteuid_server_refuses_its_service_user(build, users, shared, markers):
    evil, _ = build.evil[1]
    mine = own_copy(evil, users.a, shared)
    t = Target(build.prog)
    try:
        assert t.ask("seteuid %d" % users.a.pw_uid) == "ok"
        r = dsu("apply", t.pid, mine, "--timeout", "3", user=users.a)
        assert r.returncode == 3, r.stderr
        assert "saved" in r.stderr and "uid %d" % users.a.pw_uid in r.stderr
        assert t.alive_on("v1")
        # the program closes its fds: the runtime makes its channel anew,
        # now as the service user, who can then reach it; the runtime
        # itself must refuse
        assert t.ask("closefds") == "ok"
        assert dsu("status", t.pid).returncode == 0  # root's knock: a new channel
        assert wait_for(lambda: list(Path("/tmp/dsu-%d" % users.a.pw_uid).glob(
            "%d-*.sock" % t.pid)), 5)
        answer = raw_apply(users.a, t.pid, mine)
        assert (answer["ok"], answer["code"]) == (False, "rejected"), answer
        assert "0 (saved)" in answer["reason"], answer
        assert t.alive_on("v1")
        # root may
        assert dsu("apply", t.pid, build.v1_v2).returncode == 0
        assert t.alive_on("v2")
    finally:
        t.stop()


# ---- finding 2: a server that read a secret and then became a user ----------------


def test_non_dumpable_server_refuses_its_user(build, users, shared, markers):
    secret = shared / "secret"
    secret.write_text("the root-only secret\n")
    os.chmod(secret, 0o600)
    evil, _ = build.evil[1]
    mine = own_copy(evil, users.a, shared)
    t = Target(build.prog)
    try:
        assert t.ask("secret %s" % secret) == "ok"
        # now not dumpable
        assert t.ask("setuid %d %d" % (users.a.pw_uid, users.a.pw_gid)) == "ok"
        r = dsu("apply", t.pid, mine, "--timeout", "3", user=users.a)
        assert r.returncode == 3, r.stderr
        assert "not dumpable" in r.stderr
        assert t.ask("closefds") == "ok"  # its new channel is the user's
        assert dsu("status", t.pid).returncode == 0
        assert wait_for(lambda: list(Path("/tmp/dsu-%d" % users.a.pw_uid).glob(
            "%d-*.sock" % t.pid)), 5)
        answer = raw_apply(users.a, t.pid, mine)
        assert (answer["ok"], answer["code"]) == (False, "rejected"), answer
        assert "not dumpable" in answer["reason"]
        assert t.alive_on("v1")
    finally:
        t.stop()


def test_a_user_updates_its_own_program(build, users, shared, markers):
    mine = own_copy(build.v1_v2, users.b, shared)
    t = Target(build.prog, prefix=as_user(users.b, []))
    try:
        r = dsu("apply", t.pid, mine, user=users.b)
        assert r.returncode == 0, r.stderr
        assert t.alive_on("v2")
        s = json.loads(dsu("status", t.pid, "--json", user=users.b).stdout)
        assert s["version"] == "v2"
        # another user may not, with the CLI or without it
        theirs = own_copy(build.evil[1][0], users.a, shared)
        r = dsu("status", t.pid, user=users.a)
        assert r.returncode == 3 and "uid %d" % users.a.pw_uid in r.stderr, r.stderr
        answer = raw_apply(users.a, t.pid, theirs)
        assert answer["ok"] is False and answer["code"] in ("unreachable", "rejected"), answer
        assert t.alive_on("v2")
    finally:
        t.stop()


# ---- findings 3 and 6: nothing of a patch runs before it is validated -----------


def test_cli_never_loads_the_patch(build, markers):
    evil, _ = build.evil[1]  # root's own file: nothing but its bytes refuses it
    t = Target(build.prog)
    try:
        r = dsu("apply", t.pid, evil)
        assert r.returncode == 2, r.stderr
        assert "constructors" in r.stderr
        assert t.alive_on("v1")
    finally:
        t.stop()


@pytest.mark.parametrize("evil,words", [
    (2, "constructors"),  # not a patch at all
    (3, "IFUNC"),
    (4, "constructors"),  # for another version
])
def test_nothing_of_a_refused_file_runs_in_the_target(build, markers, evil, words):
    t = Target(build.prog)
    try:
        r = dsu("apply", t.pid, build.evil[evil][0])
        assert r.returncode in (2, 3), r.stderr
        assert words in r.stderr, r.stderr
        assert t.alive_on("v1")
        assert dsu("apply", t.pid, build.v1_v2).returncode == 0
        assert t.alive_on("v2")
    finally:
        t.stop()


def test_runtime_validates_what_the_client_did_not(build, markers, tmp_path):
    """A client that sends no digest, a digest of other bytes, or no file."""
    t = Target(build.prog)
    try:
        with open(build.evil[1][0], "rb") as f:
            answer = _send(t.pid, b"APPLY 3000 /x.so\n", f.fileno())
        assert answer["code"] == "bad-input" and "constructors" in answer["reason"]
        with open(build.v1_v2, "rb") as f:
            answer = _send(t.pid, b"APPLY 3000 sha256:%s /x.so\n" % (b"0" * 64), f.fileno())
        assert answer["code"] == "rejected" and "changed while" in answer["reason"], answer
        answer = _send(t.pid, b"APPLY 3000 %s\n" % str(build.v1_v2).encode())
        assert answer["code"] == "bad-input" and "open file" in answer["reason"]
        assert t.alive_on("v1")
    finally:
        t.stop()


def _send(pid, line, fd=None):
    with control.connect(pid, 10) as s:
        if fd is None:
            s.sendall(line)
        else:
            s.sendmsg([line], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


# ---- finding 4: a channel nobody else can take or answer on --------------------------


def _squat_abstract(user, pid, log):
    """As USER, listen where runtimes used to (the abstract socket
    dsu-PID), answer every request with a forged success and log it."""
    code = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(b'\0dsu-%d' % int(sys.argv[1]))
s.listen(8)
print('listening', flush=True)
while True:
    c, _ = s.accept()
    data = c.recv(65536)
    with open(sys.argv[2], 'ab') as f:
        f.write(data)
    c.sendall(b'{"ok":true,"code":"applied","from":"v1","to":"v2","pause_ns":1}\n')
    c.close()
"""
    p = subprocess.Popen(as_user(user, [sys.executable, "-c", code, pid, log]),
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "listening"
    return p


def test_squatter_can_neither_answer_nor_learn(build, users, shared, markers):
    log = shared / "markers" / ("squat-%s" % uuid.uuid4().hex)  # the squatter may write
    # the target's pid is known before it starts: the shell execs it
    launcher = subprocess.Popen(["sh", "-c", 'read go; exec "$0"', str(build.prog)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=ENV)
    squatter = _squat_abstract(users.a, launcher.pid, log)
    t = Target.__new__(Target)
    t.proc, t._buf, t.pid = launcher, b"", launcher.pid
    try:
        launcher.stdin.write(b"go\n")
        launcher.stdin.flush()
        assert t.read_line().startswith("ready ")
        r = dsu("apply", t.pid, build.v1_v2)
        assert r.returncode == 0, r.stderr
        assert t.alive_on("v2")  # applied for real, not a forged answer
        assert json.loads(dsu("status", t.pid, "--json").stdout)["version"] == "v2"
        assert not log.exists() or log.read_bytes() == b""  # learned nothing
    finally:
        squatter.kill()
        squatter.wait()
        t.stop()


def test_cli_talks_only_to_the_target_itself(build, tmp_path, monkeypatch):
    """Whatever path the channel is found at, the peer must be the target."""
    impostor = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    impostor.bind(str(tmp_path / "impostor.sock"))
    impostor.listen(1)
    t = Target(build.prog)
    try:
        monkeypatch.setattr(control, "find_channel", lambda pid: str(tmp_path / "impostor.sock"))
        with pytest.raises(control.ControlError) as e:
            control.request_apply(t.pid, build.v1_v2, 3)
        assert "served by process %d" % os.getpid() in e.value.message
        impostor.settimeout(1)
        conn, _ = impostor.accept()
        conn.settimeout(5)
        assert conn.recv(100) == b""  # closed without a word sent to it
        monkeypatch.undo()
        assert t.alive_on("v1")
    finally:
        impostor.close()
        t.stop()


@pytest.fixture
def fresh_user():
    """A user of this run only, who never had a channel directory."""
    name = "dsut%s" % uuid.uuid4().hex[:8]
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                    "/usr/sbin/nologin", name], check=True, capture_output=True)
    user = pwd.getpwnam(name)
    shutil.rmtree("/tmp/dsu-%d" % user.pw_uid, True)
    yield user
    shutil.rmtree("/tmp/dsu-%d" % user.pw_uid, True)
    subprocess.run(["userdel", name], capture_output=True)


def test_taken_directory_is_reported_not_used(build, users, fresh_user):
    squat = Path("/tmp/dsu-%d" % fresh_user.pw_uid)
    squat.mkdir(mode=0o777)  # made first by someone else
    os.chown(squat, users.a.pw_uid, users.a.pw_gid)
    os.chmod(squat, 0o777)
    t = Target(build.prog, prefix=as_user(fresh_user, []))
    try:
        r = dsu("status", t.pid)
        assert r.returncode == 1, r.stderr
        assert "no control channel" in r.stderr and "standard error" in r.stderr
        assert t.alive_on("v1")
        shutil.rmtree(squat)
        assert wait_for(lambda: dsu("status", t.pid).returncode == 0, 10)
    finally:
        err = t.stop()
    assert "%s is not a private directory" % squat in err, err


def test_patch_named_through_a_symlink_is_refused(build, shared):
    link = shared / ("link-%s.so" % uuid.uuid4().hex)
    link.symlink_to(build.v1_v2)
    t = Target(build.prog)
    try:
        r = dsu("apply", t.pid, link)
        assert r.returncode == 2 and "symbolic link" in r.stderr, r.stderr
        assert t.alive_on("v1")
    finally:
        link.unlink()
        t.stop()


# ---- finding 5: deadlines ------------------------------------------------------------


def test_request_withdrawn_when_its_client_goes_away(build):
    t = Target(build.prog)
    try:
        assert t.ask("block") == "ok"
        client = subprocess.Popen([sys.executable, "-m", "dsu_tool", "apply", str(t.pid),
                                   str(build.v1_v2), "--timeout", "60"], env=ENV)
        assert wait_for(lambda: json.loads(dsu("status", t.pid, "--json").stdout)["pending"])
        client.send_signal(signal.SIGKILL)
        client.wait()
        assert wait_for(lambda: not json.loads(
            dsu("status", t.pid, "--json").stdout)["pending"], 5)
        assert t.ask("unblock") == "ok"
        time.sleep(0.5)
        assert t.alive_on("v1")  # never applied afterwards
        assert json.loads(dsu("status", t.pid, "--json").stdout)["patches"] == []
    finally:
        t.stop()


def _connect(pid):
    """A connection to PID's runtime (to the abstract socket of runtimes
    before issue 12, so that these tests show what they did)."""
    if hasattr(control, "connect"):
        return control.connect(pid, 10)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(b"\0dsu-%d" % pid)
    return s


def _idle_connections(pid, n):
    return [_connect(pid) for _ in range(n)]


def test_timeout_holds_while_others_are_served(build):
    t = Target(build.prog)
    try:
        assert t.ask("block") == "ok"
        start = time.monotonic()
        client = subprocess.Popen([sys.executable, "-m", "dsu_tool", "apply", str(t.pid),
                                   str(build.v1_v2), "--timeout", "1"], env=ENV,
                                  stderr=subprocess.PIPE, text=True)
        idle = []
        while client.poll() is None and time.monotonic() - start < 10:
            idle += _idle_connections(t.pid, 1)  # silent callers keep coming
            time.sleep(0.1)
        _, err = client.communicate(timeout=30)
        elapsed = time.monotonic() - start
        assert client.returncode == 4, err
        assert elapsed < 2.5, elapsed
        for s in idle:
            s.close()
        assert t.ask("unblock") == "ok"
        assert t.alive_on("v1")
    finally:
        t.stop()


def test_silent_and_trickling_callers_delay_nobody(build):
    t = Target(build.prog)
    try:
        idle = _idle_connections(t.pid, 3)
        trickle = _connect(t.pid)
        start = time.monotonic()
        for _ in range(3):
            trickle.sendall(b"S")
            assert dsu("status", t.pid).returncode == 0
        assert time.monotonic() - start < 3.0
        r = dsu("apply", t.pid, build.v1_v2)
        assert r.returncode == 0, r.stderr
        # the silent ones were dropped after their deadline
        for s in idle + [trickle]:
            s.settimeout(5)
            assert s.recv(100) == b""
            s.close()
        assert t.alive_on("v2")
    finally:
        t.stop()


# ---- finding 7: the runtime touches only its own fds -------------------------------


def test_runtime_never_touches_fds_the_program_reused(build):
    t = Target(build.prog)
    try:
        idle = _idle_connections(t.pid, 2)  # held by the runtime meanwhile
        t.send("ownfds")  # closes every fd, reuses the numbers, checks them
        assert t.read_line(timeout=20).startswith("ok "), "the runtime used the program's fds"
        for s in idle:
            s.close()
        r = dsu("apply", t.pid, build.v1_v2)
        assert r.returncode == 0, r.stderr + t.stop()
        assert t.alive_on("v2")
    finally:
        t.stop()


# ---- finding 8: the file named is the file loaded, in any namespace ---------------


def test_target_in_a_pid_namespace(build):
    t = Target(build.prog, prefix=["unshare", "--pid", "--fork", "--mount-proc"])
    try:
        assert t.inner_pid == 1 and t.pid != 1
        r = dsu("apply", t.pid, build.v1_v2)
        assert r.returncode == 0, r.stderr
        assert t.alive_on("v2")
        assert json.loads(dsu("status", t.pid, "--json").stdout)["version"] == "v2"
    finally:
        t.stop()


def test_target_in_a_chroot_loads_the_file_named(build, shared, markers):
    """Inside the chroot, the patch's path names another file."""
    root = Path(tempfile.mkdtemp(prefix="root-", dir=shared))
    for d in ("usr", "proc", "tmp", "prog"):
        (root / d).mkdir()
    os.chmod(root / "tmp", 0o1777)
    for link in ("lib", "lib64", "bin"):
        if os.path.islink("/" + link):
            os.symlink(os.readlink("/" + link), root / link)
    decoy = root / str(build.v1_v2).lstrip("/")
    decoy.parent.mkdir(parents=True)
    shutil.copy(build.evil[1][0], decoy)
    os.chmod(decoy, 0o644)
    shutil.copy(build.prog, root / "prog" / "prog")
    script = ('mount --bind /usr "$0/usr" && mount -t proc proc "$0/proc" && '
              'exec chroot "$0" /prog/prog')
    t = Target("prog", prefix=["unshare", "--mount", "--propagation", "private",
                               "sh", "-c", script, root])
    try:
        r = dsu("apply", t.pid, build.v1_v2)
        assert r.returncode == 0, r.stderr
        assert t.alive_on("v2")
    finally:
        t.stop()
        shutil.rmtree(root, True)


# ---- findings 9 and 10: sandboxes and programs without a control thread -------------


def _syscall_numbers():
    text = subprocess.run(["gcc", "-dM", "-E", "-include", "sys/syscall.h", "-"],
                          input="", capture_output=True, text=True, check=True).stdout
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"#define __NR_(\w+) (\d+)", text)}


# What the runtime needs at update points in polling mode (the README lists
# them), and what prog.c itself uses.
RUNTIME_CALLS = ["poll", "ppoll", "accept4", "getsockopt", "recvmsg", "sendto", "close",
                 "fstat", "newfstatat", "openat", "read", "pread64", "getresuid",
                 "getresgid", "prctl", "memfd_create", "write", "fcntl", "mmap",
                 "mprotect", "munmap", "brk", "futex", "getpid", "clock_gettime",
                 "socket", "bind", "listen", "connect", "mkdir", "unlink", "unlinkat",
                 "getdents64", "kill", "geteuid", "gettid"]
PROGRAM_CALLS = ["read", "write", "poll", "exit_group", "rt_sigreturn", "newfstatat",
                 "fstat", "futex", "close", "openat", "lseek", "brk"]


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the sandbox is x86-64 BPF")
def test_sandboxed_program_polls_for_updates(build):
    nr = _syscall_numbers()
    allowed = sorted({nr[c] for c in RUNTIME_CALLS + PROGRAM_CALLS if c in nr})
    t = Target(build.prog, env=dict(ENV, DSU_CONTROL="poll"))
    try:
        assert os.listdir("/proc/%d/task" % t.pid) == [str(t.pid)]  # no thread
        assert t.ask("sandbox %s" % ",".join(map(str, allowed))) == "ok"
        assert dsu("status", t.pid).returncode == 0
        r = dsu("apply", t.pid, build.v1_v2)
        assert r.returncode == 0, r.stderr
        assert t.alive_on("v2")
    finally:
        err = t.stop()
    assert t.proc.returncode == 0, (t.proc.returncode, err)


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the sandbox is x86-64 BPF")
def test_sandbox_refusing_a_call_gives_its_error(build):
    nr = _syscall_numbers()
    allowed = sorted({nr[c] for c in RUNTIME_CALLS + PROGRAM_CALLS
                      if c in nr and c != "memfd_create"})
    t = Target(build.prog, env=dict(ENV, DSU_CONTROL="poll"))
    try:
        assert t.ask("sandbox-eperm %s" % ",".join(map(str, allowed))) == "ok"
        r = dsu("apply", t.pid, build.v1_v2)
        assert r.returncode == 3, r.stderr
        assert "memfd_create: Operation not permitted" in r.stderr
        assert t.alive_on("v1")
    finally:
        t.stop()


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the sandbox is x86-64 BPF")
def _wait_control_thread_idle(pid, numbers, timeout=10):
    """Wait until the control thread of PID is blocked in poll(), where it
    stays while nobody asks: a sandbox installed while it is still setting
    up its socket would kill the process for that, not for a request."""
    waiting = {str(numbers[c]) for c in ("poll", "ppoll") if c in numbers}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                    if f.read().strip() != "dsu-control":
                        continue
                with open("/proc/%d/task/%s/syscall" % (pid, tid)) as f:
                    if f.read().split()[0] in waiting:
                        return
            except (OSError, IndexError):
                pass
        time.sleep(0.01)
    raise AssertionError("the control thread of %d never went idle" % pid)


def test_sandboxed_control_thread_gets_a_clear_error_not_a_kill(build):
    nr = _syscall_numbers()
    allowed = sorted({nr[c] for c in PROGRAM_CALLS if c in nr})  # none for the runtime
    t = Target(build.prog)
    try:
        _wait_control_thread_idle(t.pid, nr)
        assert t.ask("sandbox %s" % ",".join(map(str, allowed))) == "ok"
        for args in (["status", t.pid], ["apply", t.pid, build.v1_v2]):
            r = dsu(*args)
            assert r.returncode == 3, r.stderr
            assert "seccomp" in r.stderr and "DSU_CONTROL=poll" in r.stderr
        assert t.alive_on("v1")
    finally:
        err = t.stop()
    assert t.proc.returncode == 0, (t.proc.returncode, err)


def test_control_thread_that_cannot_start_is_said_and_polled_instead(build, fresh_user):
    # the user's only process: its control thread would be a second one
    prefix = ["prlimit", "--nproc=1:1", *as_user(fresh_user, [])]
    t = Target(build.prog, prefix=prefix)
    try:
        r = dsu("apply", t.pid, build.v1_v2)
        assert r.returncode == 0, r.stderr
        assert t.alive_on("v2")
    finally:
        err = t.stop()
    assert "cannot start the control thread" in err, err


# ---- the runtime's lock and fork() ----------------------------------------------


def test_state_transformer_may_fork(build):
    t = Target(build.prog)
    try:
        r = dsu("apply", t.pid, build.evil[5][0], "--timeout", "5", timeout=30)
        assert r.returncode == 0, r.stderr
        assert t.ask("version") == "v2"
    finally:
        t.stop()
