"""The dsu runtime and `dsu apply/status`, end to end.

The C programs and patches in tests/runtime/ are written by hand in the
shape the compiler pass and patchgen emit; they are built once per module
with gcc and run as real processes, which are updated through the CLI
(`python -m dsu_tool`) exactly as a user would.
"""

import concurrent.futures
import hashlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "tests" / "runtime"
INCLUDE = REPO / "dsu_tool" / "runtime" / "include"
RUNTIME_C = REPO / "dsu_tool" / "runtime" / "dsu_runtime.c"

sys.path.insert(0, str(REPO))
from dsu_tool import control  # noqa: E402

BAD_PATCHES = {  # -DBAD=n variant of patch_bad.c: exit status, reason words
    1: (3, ["nosuch"]),
    2: (3, ["greet", "h-long(long)", "h-int(int)"]),
    3: (3, ["hits", "function", "variable"]),
    4: (2, ["magic"]),
    5: (3, ["ABI", "99"]),
    6: (3, ["ABI 1,", "ABI 4"]),
    7: (3, ["ABI 3,", "ABI 4"]),  # the ABI before patches introduced types
}

# -DBAD=n variants of patch_t12.c that the runtime refuses: reason words
BAD_TYPE_PATCHES = {
    1: ["patch expects struct rec@typeprog.c in layout L-rec-0, the process has L-rec-1"],
    2: ["struct rec@typeprog.c", "size 40", "size 32", "offset 24"],
    3: ["struct rec@typeprog.c", "L-rec-1", "L-rec-2"],
    4: ["struct nosuch@typeprog.c", "no such wrapped type"],
}
# the program's wrapped type, as STATUS shows it before any patch
REC_V1 = {"name": "struct rec@typeprog.c", "layout": "L-rec-1", "base_layout": "L-rec-1",
          "changed": False, "steps": 0}
PREC_V1 = {"name": "struct rec@pointprog.c", "layout": "L-prec-1", "base_layout": "L-prec-1",
           "changed": False, "steps": 0}


def _line_of(source, marker):
    (n,) = [i for i, line in enumerate(source.read_text().splitlines(), 1) if marker in line]
    return n


# where the update points of the test programs are
WORK_LINE = _line_of(SRC / "pointprog.c", 'UPDATE_POINT("work"')
LOOP_LINE = _line_of(SRC / "pointprog.c", 'UPDATE_POINT("main"')
STRAY_LINE = _line_of(SRC / "pointprog.c", "/* stray")
TYPEPROG_LINE = _line_of(SRC / "typeprog.c", 'UPDATE_POINT("main"')
WORK_POINT = {"file": "pointprog.c", "line": WORK_LINE, "function": "work",
              "restricted": ["struct rec@pointprog.c"]}
LOOP_POINT = {"file": "pointprog.c", "line": LOOP_LINE, "function": "main", "restricted": []}


def _gcc(*args):
    r = subprocess.run(["gcc", *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, "gcc %s failed:\n%s" % (" ".join(map(str, args)), r.stderr)
    # the runtime and the test sources must be warning-free too
    assert "warning" not in r.stderr, r.stderr


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    d = tmp_path_factory.mktemp("dsu-runtime")
    rt = d / "dsu_runtime.o"
    # exactly the flags the build system uses, plus -Werror
    _gcc("-c", "-O2", "-fPIC", "-pthread", "-Wall", "-Wextra", "-Werror",
         "-I", INCLUDE, RUNTIME_C, "-o", rt)
    prog_flags = ["-O2", "-Wall", "-Wextra", "-DDSU_UPDATEABLE", "-I", INCLUDE]
    so_flags = ["-shared", "-nostartfiles", "-fPIC", "-O2", "-Wall", "-Wextra", "-I", INCLUDE]
    # what the build system adds, so that patches can call into the program
    exports = ["-Wl,--export-dynamic-symbol=%s" % s for s in (
        "dsu__pending", "dsu__update_point", "dsu_version", "dsu__convert")]
    jobs = [
        [*prog_flags, SRC / "prog.c", SRC / "version_v1.c", rt, "-o", d / "prog",
         "-pthread", "-ldl"],
        [*prog_flags, SRC / "empty.c", SRC / "version_v1.c", rt, "-o", d / "empty",
         "-pthread", "-ldl"],
        [*so_flags, SRC / "patch_undef.c", "-o", d / "undef.so"],
        [*so_flags, SRC / "notpatch.c", "-o", d / "notpatch.so"],
        [*prog_flags, SRC / "typeprog.c", rt, "-o", d / "typeprog", *exports,
         "-pthread", "-ldl"],
        [*prog_flags, "-DDUP_ENTRY=1", SRC / "typeprog.c", rt, "-o", d / "typeprog_dup1",
         *exports, "-pthread", "-ldl"],
        [*prog_flags, "-DDUP_ENTRY=2", SRC / "typeprog.c", rt, "-o", d / "typeprog_dup2",
         *exports, "-pthread", "-ldl"],
        ["-O2", "-Wall", "-Wextra", "-I", INCLUDE, "-I", RUNTIME_C.parent,
         SRC / "convert_unit.c", "-o", d / "convert_unit", "-pthread", "-ldl"],
        [*so_flags, SRC / "patch_t12.c", "-o", d / "t12.so"],
        [*so_flags, SRC / "patch_t23.c", "-o", d / "t23.so"],
        [*so_flags, SRC / "patch_tsame.c", "-o", d / "tsame.so"],
        [*so_flags, "-DBAD=1", SRC / "patch_tsame.c", "-o", d / "tsame_bad1.so"],
        [*prog_flags, "-DNO_POINTS=1", SRC / "typeprog.c", rt, "-o", d / "typeprog_nopoints",
         *exports, "-pthread", "-ldl"],
        [*prog_flags, SRC / "pointprog.c", rt, "-o", d / "pointprog", *exports,
         "-pthread", "-ldl"],
        [*prog_flags, "-DMAIN_USES_REC=1", SRC / "pointprog.c", rt, "-o",
         d / "pointprog_strict", *exports, "-pthread", "-ldl"],
    ]
    lines = ["-DWORK_LINE=%d" % WORK_LINE, "-DLOOP_LINE=%d" % LOOP_LINE]
    jobs += [
        [*so_flags, *lines, SRC / "patch_p12.c", "-o", d / "p12.so"],
        [*so_flags, *lines, "-DFROM_V1B=1", SRC / "patch_p12.c", "-o", d / "p12_v1b.so"],
        [*so_flags, *lines, SRC / "patch_pfn.c", "-o", d / "pfn.so"],
    ]
    for bad in (*BAD_TYPE_PATCHES, 5, 6):
        jobs.append([*so_flags, "-DBAD=%d" % bad, SRC / "patch_t12.c",
                     "-o", d / ("t12_bad%d.so" % bad)])
    for name in ("v1_v2", "v2_v1", "v2_v3"):
        jobs.append([*so_flags, SRC / ("patch_%s.c" % name), "-o", d / ("%s.so" % name)])
    for bad in BAD_PATCHES:
        jobs.append([*so_flags, "-DBAD=%d" % bad, SRC / "patch_bad.c",
                     "-o", d / ("bad%d.so" % bad)])
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda a: _gcc(*a), jobs))
    for so in d.glob("*.so"):
        os.chmod(so, 0o755)  # whatever the umask: patches must not be group-writable
    return SimpleNamespace(dir=d, runtime=rt, prog=d / "prog", empty=d / "empty",
                           typeprog=d / "typeprog", convert_unit=d / "convert_unit",
                           typeprog_dup1=d / "typeprog_dup1", typeprog_dup2=d / "typeprog_dup2",
                           typeprog_nopoints=d / "typeprog_nopoints",
                           pointprog=d / "pointprog", pointprog_strict=d / "pointprog_strict",
                           **{p.stem: p for p in d.glob("*.so")})


class Program:
    """A running test program, driven one command line at a time."""

    def __init__(self, exe, env=None):
        self.proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env)
        self._buf = b""
        first = self.read_line()
        assert first.startswith("ready "), first
        self.pid = int(first.split()[1])

    def read_line(self, timeout=10):
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0, left))
            if not ready:
                raise TimeoutError("program did not answer")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise EOFError("program closed its output")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode()

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def ask(self, line):
        self.send(line)
        return self.read_line()

    def greet(self, n):
        return int(self.ask("greet %d" % n))

    def stop(self):
        """Ends the program (also after it re-forked itself) and returns
        what it wrote on stderr."""
        try:
            self.send("quit")
            self.proc.stdin.close()
            # EOF on stdout once every process holding it has gone
            while self.proc.stdout.read(4096):
                pass
        except (OSError, ValueError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.stderr.read().decode()


@pytest.fixture
def prog(build):
    p = Program(build.prog)
    yield p
    p.stop()


def dsu(*args, cwd=None, timeout=60):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "dsu_tool", *map(str, args)],
                          cwd=cwd or REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def apply_json(pid, patch, *extra):
    r = dsu("apply", pid, patch, "--json", *extra)
    answer = json.loads(r.stdout)
    assert answer["exit_code"] == r.returncode
    return r.returncode, answer, r.stderr


def status(pid):
    r = dsu("status", pid, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


# ---- the runtime object --------------------------------------------------


def test_runtime_exports_only_its_interface(build):
    r = subprocess.run(["nm", "-g", "--defined-only", build.runtime],
                       capture_output=True, text=True, check=True)
    names = sorted(line.split()[-1] for line in r.stdout.splitlines())
    assert names == ["dsu__convert", "dsu__pending", "dsu__quiescent_begin",
                     "dsu__quiescent_end", "dsu__update_point", "dsu_version"]


def test_program_without_updateable_definitions(build):
    p = Program(build.empty)
    try:
        assert p._buf == b"" and p.pid > 0
        s = status(p.pid)
        assert (s["version"], s["patches"], s["pending"]) == ("v1", [], False)
        assert s["points"] == []
        rc, answer, err = apply_json(p.pid, build.v1_v2)
        assert rc == 3 and "hits" in answer["reason"]
    finally:
        p.stop()


# ---- applying -------------------------------------------------------------


def test_apply_runs_new_code_and_keeps_state(prog, build):
    assert prog.greet(5) == 6
    assert prog.greet(6) == 7
    r = dsu("apply", prog.pid, build.v1_v2)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(
        r"applied v1_v2\.so to pid %d: v1 -> v2 \(pause [\d.]+ us, total [\d.]+ ms\)\n"
        % prog.pid, r.stdout), r.stdout
    assert r.stderr == ""
    assert prog.greet(5) == 1010  # calls the program's twice() through its slot
    assert prog.ask("hits") == "3"  # v1 counted two, v2 goes on counting
    assert prog.ask("version") == "v2"


def test_apply_json_answer(prog, build):
    rc, answer, _ = apply_json(prog.pid, build.v1_v2)
    assert rc == 0
    assert set(answer) == {"format", "command", "ok", "code", "exit_code", "reason", "pid",
                           "patch", "from", "to", "update_point", "pause_ns", "prepare_us",
                           "deferred", "summary", "sha256", "total_ms"}
    assert answer["format"] == 1 and answer["reason"] is None
    assert answer["ok"] is True and answer["code"] == "applied"
    assert answer["deferred"] == 0
    assert (answer["from"], answer["to"]) == ("v1", "v2")
    assert 0 < answer["pause_ns"] < 50_000_000
    assert answer["prepare_us"] >= 0 and answer["total_ms"] > 0
    assert re.fullmatch(r".*prog\.c:\d+", answer["update_point"])
    assert answer["summary"] == "changed greet: 2*x + 1000\nadded bonus"
    print("pause_ns of a simple apply: %d" % answer["pause_ns"])


def test_chain_uses_patch_defs_and_stub_imports(prog, build):
    assert dsu("apply", prog.pid, build.v1_v2).returncode == 0
    # v2 -> v3 imports bonus(), defined by the v1 -> v2 patch; its dlopen
    # goes through the same /proc/self/fd number as the first patch did
    r = dsu("apply", prog.pid, build.v2_v3)
    assert r.returncode == 0, r.stderr
    assert prog.greet(5) == 35
    assert prog.greet(-5) == 35  # through the imported stub -> slot -> v3
    assert prog.ask("hits") == "2"
    assert prog.ask("version") == "v3"


def test_forward_and_back_reapplies_loaded_patches(prog, build):
    expected = {"v1": 6, "v2": 1010}
    seq = [build.v1_v2, build.v2_v1, build.v1_v2, build.v2_v1, build.v1_v2]
    version = "v1"
    for n, patch in enumerate(seq, 1):
        assert prog.greet(5) == expected[version]
        rc, answer, err = apply_json(prog.pid, patch)
        assert rc == 0, err
        assert answer["from"] == version
        version = answer["to"]
        assert prog.ask("hits") == str(n)
    assert prog.greet(5) == 1010
    s = status(prog.pid)
    assert [(x["from"], x["to"]) for x in s["patches"]] == [
        ("v1", "v2"), ("v2", "v1"), ("v1", "v2"), ("v2", "v1"), ("v1", "v2")]


def test_relative_patch_path(prog, build):
    r = dsu("apply", prog.pid, "v1_v2.so", cwd=build.dir)
    assert r.returncode == 0, r.stderr
    assert status(prog.pid)["patches"][0]["path"] == str(build.v1_v2)


# ---- refusing -----------------------------------------------------------------


def test_wrong_base_version_refused(prog, build):
    assert prog.greet(5) == 6
    for patch in (build.v2_v1, build.v2_v3):
        r = dsu("apply", prog.pid, patch)
        assert r.returncode == 3
        assert "v2" in r.stderr and "v1" in r.stderr, r.stderr
    assert prog.greet(5) == 6
    assert status(prog.pid)["patches"] == []


@pytest.mark.parametrize("bad", sorted(BAD_PATCHES))
def test_inconsistent_patch_refused(prog, build, bad):
    code, words = BAD_PATCHES[bad]
    rc, answer, err = apply_json(prog.pid, getattr(build, "bad%d" % bad))
    assert rc == code, answer
    for w in words:
        assert w in answer["reason"] and w in err
    assert prog.greet(5) == 6 and prog.ask("version") == "v1"


def test_unresolvable_symbol_refused(prog, build):
    rc, answer, _ = apply_json(prog.pid, build.undef)
    assert (rc, answer["code"]) == (3, "rejected")
    assert "dsu_test_not_there" in answer["reason"]
    assert prog.greet(5) == 6


def test_shared_object_without_patch(prog, build):
    rc, answer, _ = apply_json(prog.pid, build.notpatch)
    assert (rc, answer["code"]) == (2, "bad-input")
    assert "not a dsu patch" in answer["reason"]
    assert prog.greet(5) == 6


def test_not_an_elf_file(prog, build, tmp_path):
    text = tmp_path / "notes.so"
    text.write_text("this is not a shared object\n" * 10)
    truncated = tmp_path / "truncated.so"
    truncated.write_bytes(build.v1_v2.read_bytes()[:300])
    for f in (text, truncated):
        os.chmod(f, 0o644)
        rc, answer, _ = apply_json(prog.pid, f)
        assert (rc, answer["code"]) == (2, "bad-input"), answer
    assert prog.greet(5) == 6


def test_unreadable_patch_path(prog, tmp_path):
    assert dsu("apply", prog.pid, tmp_path / "missing.so").returncode == 2
    r = dsu("apply", prog.pid, tmp_path)
    assert r.returncode == 2 and "not a regular file" in r.stderr
    assert prog.greet(5) == 6


@pytest.mark.parametrize("mode", [0o664, 0o646])
def test_writable_patch_refused(prog, build, tmp_path, mode):
    patch = tmp_path / "v1_v2.so"
    shutil.copy(build.v1_v2, patch)
    os.chmod(patch, mode)
    r = dsu("apply", prog.pid, patch)
    assert r.returncode == 3 and "writable" in r.stderr, r.stderr
    assert prog.greet(5) == 6


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file away")
def test_patch_owned_by_another_user_refused(prog, build, tmp_path):
    patch = tmp_path / "v1_v2.so"
    shutil.copy(build.v1_v2, patch)
    os.chown(patch, 65534, 65534)
    r = dsu("apply", prog.pid, patch)
    assert r.returncode == 3 and "owned by uid 65534" in r.stderr, r.stderr
    assert prog.greet(5) == 6


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
def test_client_of_another_user_refused(prog):
    # fork rather than exec: the interpreter may not be readable by nobody
    rfd, wfd = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(rfd)
            os.setgid(65534)
            os.setuid(65534)
            try:
                answer = control.request_status(prog.pid)
            except control.ControlError as e:
                answer = {"ok": False, "code": e.code, "reason": e.message}
            os.write(wfd, json.dumps(answer).encode())
        except BaseException as e:
            os.write(wfd, repr(e).encode())
        finally:
            os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as f:
        out = f.read()
    os.waitpid(child, 0)
    assert out.startswith(b"{"), out
    answer = json.loads(out)
    assert (answer["ok"], answer["code"]) == (False, "rejected")
    assert "uid 65534" in answer["reason"]
    assert status(prog.pid)["ok"] is True


def test_no_such_process():
    pid = 2 ** 22 + 1  # above any pid_max
    r = dsu("apply", pid, RUNTIME_C)
    assert r.returncode == 2 and "no such process" in r.stderr
    assert dsu("status", pid).returncode == 2


def test_process_without_runtime(build):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        r = dsu("apply", sleeper.pid, build.v1_v2)
        assert r.returncode == 2
        assert "not an updateable program" in r.stderr
        assert dsu("status", sleeper.pid).returncode == 2
        assert sleeper.poll() is None  # unharmed
    finally:
        sleeper.kill()
        sleeper.wait()


def test_usage_errors(prog, build):
    for args in ([], ["apply"], ["apply", prog.pid], ["apply", "abc", build.v1_v2],
                 ["apply", prog.pid, build.v1_v2, "--timeout", "-1"], ["frobnicate"]):
        r = dsu(*args)
        assert r.returncode == 2, args
        assert "usage" in r.stderr
    assert prog.greet(5) == 6


# ---- update points and timing ----------------------------------------------


def test_timeout_changes_nothing_and_a_later_apply_works(prog, build):
    assert prog.ask("block") == "ok"  # no update point from now on
    t0 = time.monotonic()
    r = dsu("apply", prog.pid, build.v1_v2, "--timeout", "0.3")
    assert r.returncode == 4, r.stderr
    assert "no update point" in r.stderr
    assert time.monotonic() - t0 >= 0.3
    assert prog.greet(5) == 6 and prog.ask("version") == "v1"
    assert prog.ask("unblock") == "ok"
    assert prog.greet(5) == 6  # the withdrawn request is not taken later
    assert status(prog.pid)["patches"] == []
    r = dsu("apply", prog.pid, build.v1_v2, "--timeout", "5")
    assert r.returncode == 0, r.stderr
    assert prog.greet(5) == 1010


def test_status_while_an_update_waits(prog, build):
    assert prog.ask("block") == "ok"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    waiting = subprocess.Popen(
        [sys.executable, "-m", "dsu_tool", "apply", str(prog.pid), str(build.v1_v2),
         "--timeout", "30", "--json"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: status(prog.pid)["pending"])
        s = status(prog.pid)  # a function-only patch is never deferred
        assert (s["deferred"], s["deferred_reason"]) == (0, "")
        human = dsu("status", prog.pid)
        assert human.returncode == 0 and "waiting for an update point" in human.stdout
        r = dsu("apply", prog.pid, build.v1_v2)
        assert r.returncode == 3 and "in progress" in r.stderr
        assert prog.ask("unblock") == "ok"
        out, _ = waiting.communicate(timeout=30)
    finally:
        waiting.kill()
    assert waiting.returncode == 0
    assert json.loads(out)["to"] == "v2"
    s = status(prog.pid)
    assert s["pending"] is False and len(s["patches"]) == 1
    assert s["deferred"] is None and s["deferred_reason"] is None
    assert prog.greet(5) == 1010


def test_status(prog, build):
    s = status(prog.pid)
    assert s == {"format": 1, "command": "status", "ok": True, "code": "status",
                 "exit_code": 0, "reason": None, "pid": prog.pid, "program": "testprog",
                 "version": "v1", "version_id": "id-v1-5e7a", "base_version": "v1",
                 "patches": [], "types": [], "points": [], "pending": False,
                 "deferred": None, "deferred_reason": None}
    before = time.time()
    assert dsu("apply", prog.pid, build.v1_v2).returncode == 0
    s = status(prog.pid)
    assert (s["version"], s["version_id"], s["base_version"]) == ("v2", "id-v2-9c31", "v1")
    (p,) = s["patches"]
    assert set(p) == {"path", "sha256", "from", "to", "applied_at", "pause_ns", "update_point"}
    assert p["sha256"] == hashlib.sha256(build.v1_v2.read_bytes()).hexdigest()
    assert (p["path"], p["from"], p["to"]) == (str(build.v1_v2), "v1", "v2")
    assert before - 1 < p["applied_at"] < time.time() + 1
    assert p["pause_ns"] > 0 and "prog.c:" in p["update_point"]
    r = dsu("status", prog.pid)
    assert r.returncode == 0
    assert "pid %d: testprog v2 (base v1)" % prog.pid in r.stdout
    assert "v1 -> v2" in r.stdout and "patches applied: 1" in r.stdout


# ---- protocol --------------------------------------------------------------------


def raw_request(pid, data):
    with control.connect(pid, 10) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(4096):
            out += chunk
    assert out.endswith(b"\n") and out.count(b"\n") == 1
    return json.loads(out)


def test_protocol_errors(prog):
    for data in (b"HELLO\n", b"APPLY 100 relative.so\n", b"APPLY x /a.so\n",
                 b"APPLY 100\n", b"STATUS\0\n"):
        answer = raw_request(prog.pid, data)
        assert (answer["ok"], answer["code"]) == (False, "bad-input"), data
    answer = raw_request(prog.pid, b"APPLY 100 /nonexistent/\"quoted\"\\path\n")
    assert answer["code"] == "bad-input"
    assert '/nonexistent/"quoted"\\path' in answer["reason"]  # escaped JSON
    assert raw_request(prog.pid, b"STATUS\r\n")["ok"] is True


def test_non_utf8_path_gives_valid_json(prog, tmp_path):
    answer = raw_request(prog.pid, b"APPLY 100 /nonexistent/\xff\xfe\x01.so\n")
    assert answer["code"] == "bad-input"
    assert "/nonexistent/\ufffd\ufffd\x01.so" in answer["reason"]


def test_client_api(prog, build):
    answer = control.request_apply(prog.pid, build.v1_v2, 5)
    assert answer["ok"] and answer["code"] == "applied"
    assert control.request_status(prog.pid)["version"] == "v2"
    with pytest.raises(control.ControlError) as e:
        control.request_status(2 ** 22 + 1)
    assert e.value.code == "bad-input"


# ---- living inside the program ------------------------------------------------


def _sigblk(pid, tid):
    text = Path("/proc/%d/task/%d/status" % (pid, tid)).read_text()
    return int(re.search(r"^SigBlk:\s*([0-9a-f]+)$", text, re.M).group(1), 16)


def test_control_thread_blocks_all_signals(prog):
    tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % prog.pid))
    assert len(tids) == 2 and tids[0] == prog.pid
    assert _sigblk(prog.pid, prog.pid) == 0  # the program's own mask is untouched
    mask = _sigblk(prog.pid, tids[1])
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1,
                signal.SIGPIPE, signal.SIGCHLD, signal.SIGALRM, signal.SIGRTMIN):
        assert mask & (1 << (sig - 1)), sig


def test_quiet_unless_verbose(build):
    for verbose in (False, True):
        env = dict(os.environ)
        env.pop("DSU_VERBOSE", None)
        if verbose:
            env["DSU_VERBOSE"] = "1"
        p = Program(build.prog, env=env)
        try:
            assert dsu("apply", p.pid, build.v2_v1).returncode == 3
            assert dsu("apply", p.pid, build.v1_v2).returncode == 0
            assert p.greet(5) == 1010
        finally:
            err = p.stop()
        if verbose:
            lines = err.splitlines()
            assert len(lines) == 2, err
            assert lines[0].startswith("dsu: rejected: ")
            assert lines[1].startswith("dsu: applied ") and "v1 -> v2" in lines[1]
        else:
            assert err == ""


def test_survives_closed_and_reused_fds(prog, build):
    assert prog.ask("closefds") == "ok"  # closes the listener, reuses its number
    null_fds = lambda: sorted(  # noqa: E731
        fd for fd in os.listdir("/proc/%d/fd" % prog.pid)
        if os.readlink("/proc/%d/fd/%s" % (prog.pid, fd)) == "/dev/null")
    before = null_fds()
    assert len(before) >= 8
    r = dsu("apply", prog.pid, build.v1_v2)
    assert r.returncode == 0, r.stderr
    for _ in range(3):  # served by a listener made anew
        assert status(prog.pid)["version"] == "v2"
    assert null_fds() == before  # the program's files were left alone
    assert prog.greet(5) == 1010


def test_daemonizing_program_stays_updateable(prog, build):
    assert dsu("apply", prog.pid, build.v1_v2).returncode == 0
    old = prog.pid
    reply = prog.ask("daemon")  # close all fds, fork, parent exits
    assert reply.startswith("pid ")
    prog.pid = int(reply.split()[1])
    assert prog.pid != old
    prog.proc.wait(10)
    assert dsu("status", old).returncode == 2
    s = status(prog.pid)
    assert s["pid"] == prog.pid and s["version"] == "v2" and len(s["patches"]) == 1
    assert dsu("apply", prog.pid, build.v2_v3).returncode == 0
    assert prog.greet(5) == 35


# ---- wrapped types ----------------------------------------------------------------


@pytest.fixture
def tprog(build):
    p = Program(build.typeprog)
    yield p
    assert p.stop() == ""


def test_layout_change_converts_objects_on_first_access(tprog, build):
    p = tprog
    assert p.ask("show 0") == "a=1 b=10"
    assert p.ask("show 100") == "a=100 b=1000"
    assert p.ask("set 3 5 7") == "ok"
    assert (p.ask("tag 1"), p.ask("tag 101")) == ("00000000", "a5a5a5a5")
    rc, answer, err = apply_json(p.pid, build.t12)
    assert rc == 0, err
    # the update converts nothing itself: every object waits for new code
    assert (p.ask("tag 0"), p.ask("tag 1"), p.ask("tag 101")) == (
        "00000000", "00000000", "a5a5a5a5")
    assert p.ask("show 1") == "a=2 b=20 c=0"
    assert p.ask("tag 1") == "22222222"
    assert p.ask("show 101") == "a=101 b=1001 c=0"  # garbage tag: the base layout
    assert p.ask("tag 101") == "22222222"
    assert p.ask("show 3") == "a=5 b=7 c=0"  # set by the old code
    assert p.ask("show 1") == "a=2 b=20 c=0"  # converted once only
    # the widened field, written by new code, in a converted object and a new one
    assert p.ask("set 2 3 5000000000") == "ok"
    assert p.ask("show 2") == "a=3 b=5000000000 c=0"
    assert p.ask("add 9 6000000000") == "103"
    assert p.ask("tag 103") == "22222222"
    assert p.ask("show 103") == "a=9 b=6000000000 c=0"
    assert p.ask("show 102") == "a=102 b=1002 c=0"
    assert p.ask("show 0") == "a=1 b=10 c=0"
    # `counter` moved to the patch's storage (a long) by its state transformer
    assert p.ask("count") == "10"
    assert p.ask("version") == "v2"


def test_status_shows_wrapped_types(tprog, build):
    s = status(tprog.pid)
    assert s["types"] == [REC_V1]
    assert s["points"] == [{"file": str(SRC / "typeprog.c"), "line": TYPEPROG_LINE,
                            "function": "main", "restricted": []}]
    assert dsu("apply", tprog.pid, build.t12).returncode == 0
    assert status(tprog.pid)["types"] == [dict(REC_V1, layout="L-rec-2", changed=True,
                                               steps=1)]


def test_two_layout_changes_convert_in_two_steps(tprog, build):
    p = tprog
    assert dsu("apply", p.pid, build.t12).returncode == 0
    assert p.ask("show 0") == "a=1 b=10 c=0"
    assert p.ask("set 1 -4 5000000000") == "ok"
    assert p.ask("add 9 6000000000") == "103"
    rc, answer, err = apply_json(p.pid, build.t23)
    assert rc == 0, err
    assert (answer["from"], answer["to"]) == ("v2", "v3")
    # untouched since v1: both transformers at once
    assert (p.ask("tag 2"), p.ask("tag 100")) == ("00000000", "a5a5a5a5")
    assert p.ask("show 2") == "a=3 b=30 c=0 d=7"
    assert p.ask("show 100") == "a=100 b=1000 c=0 d=7"
    assert (p.ask("tag 2"), p.ask("tag 100")) == ("33333333", "33333333")
    # converted in v2, or made by v2 code: the second transformer only
    assert p.ask("tag 1") == "22222222"
    assert p.ask("show 1") == "a=-4 b=5000000000 c=0 d=7"
    assert p.ask("show 103") == "a=9 b=6000000000 c=0 d=7"
    assert p.ask("show 0") == "a=1 b=10 c=0 d=7"
    assert p.ask("add 1 2") == "104"
    assert p.ask("show 104") == "a=1 b=2 c=0 d=7"
    assert p.ask("count") == "7"  # v3 counts in the storage v2 made
    (t,) = status(p.pid)["types"]
    assert t == dict(REC_V1, layout="L-rec-3", changed=True, steps=2)


def test_failing_state_transformer_rolls_back(tprog, build):
    p = tprog
    assert p.ask("show 0") == "a=1 b=10"
    before = status(p.pid)
    rc, answer, err = apply_json(p.pid, build.t12_bad6)
    assert (rc, answer["code"]) == (3, "rejected"), answer
    assert answer["reason"] == ("state transformer for limit failed (returned 4); "
                                "the update was rolled back")
    assert answer["reason"] in err
    # old code, old objects, old version, old state
    assert p.ask("show 1") == "a=2 b=20"
    assert p.ask("tag 1") == "00000000"
    assert p.ask("version") == "v1"
    assert p.ask("count") == "2"
    assert status(p.pid) == before
    # the same update without the failing transformer goes in
    rc, answer, err = apply_json(p.pid, build.t12)
    assert rc == 0, err
    assert p.ask("show 1") == "a=2 b=20 c=0"
    assert p.ask("count") == "3"
    assert p.ask("version") == "v2"


@pytest.mark.parametrize("bad", sorted(BAD_TYPE_PATCHES))
def test_inconsistent_type_patch_refused(tprog, build, bad):
    rc, answer, err = apply_json(tprog.pid, getattr(build, "t12_bad%d" % bad))
    assert (rc, answer["code"]) == (3, "rejected"), answer
    for w in BAD_TYPE_PATCHES[bad]:
        assert w in answer["reason"], answer["reason"]
    assert tprog.ask("show 0") == "a=1 b=10" and tprog.ask("version") == "v1"
    s = status(tprog.pid)
    assert s["types"] == [REC_V1] and s["patches"] == []


def test_type_import_without_layout_change(tprog, build):
    rc, answer, err = apply_json(tprog.pid, build.tsame_bad1)
    assert rc == 3 and "L-rec-2" in answer["reason"] and "L-rec-1" in answer["reason"]
    rc, answer, err = apply_json(tprog.pid, build.tsame)
    assert rc == 0, err
    assert tprog.ask("show 0") == "v1b a=1 b=10"
    assert tprog.ask("tag 0") == "00000000"
    assert status(tprog.pid)["types"] == [REC_V1]


@pytest.mark.parametrize("dup", [1, 2])
def test_type_listed_twice(build, dup):
    p = Program(getattr(build, "typeprog_dup%d" % dup))
    try:
        (t,) = status(p.pid)["types"]
        assert t["name"] == REC_V1["name"]
        rc, answer, err = apply_json(p.pid, build.t12)
        if dup == 1:
            assert t == REC_V1
            assert rc == 0, err
            assert p.ask("show 0") == "a=1 b=10 c=0"
        else:  # which entry is right is unknown: touch the type in no way
            assert rc == 3 and "inconsistently" in answer["reason"], answer
            assert p.ask("show 0") == "a=1 b=10"
    finally:
        assert p.stop() == ""


def test_failing_type_transformer_aborts(build):
    p = Program(build.typeprog)
    try:
        assert p.ask("set 2 666 1") == "ok"
        assert dsu("apply", p.pid, build.t12_bad5).returncode == 0
        assert p.ask("show 1") == "a=2 b=20 c=0"
        p.send("show 2")  # a half-converted object must not be used
        with pytest.raises(EOFError):
            p.read_line()
        assert p.proc.wait(10) == -signal.SIGABRT
    finally:
        err = p.stop()
    assert re.search(r"^dsu: converting struct rec@typeprog\.c at 0x[0-9a-f]+ failed at step "
                     r"1 of 1 \(layout L-rec-1 -> L-rec-2, from the patch v1 -> v2\): the "
                     r"transformer returned 9;", err, re.M), err


def test_convert_follows_the_chain(build):
    r = subprocess.run([build.convert_unit, "paths"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr
    # chain A->B (1), B->A (2), A->C (3); untagged and unknown tags mean A
    assert r.stdout.splitlines() == [
        "00000000->bbbbbbbb: 1 bbbbbbbb",
        "00000000->cccccccc: 123 cccccccc",
        "aaaaaaaa->cccccccc: 123 cccccccc",
        "bbbbbbbb->cccccccc: 23 cccccccc",
        "cccccccc->cccccccc: - cccccccc",
        "deadbeef->aaaaaaaa: 12 aaaaaaaa",
        "bbbbbbbb->aaaaaaaa: 2 aaaaaaaa",
    ]


@pytest.mark.parametrize("case,message", [
    ("empty", r"dsu: cannot convert struct obj@unit at 0x[0-9a-f]+ to layout bbbbbbbb"),
    # C is a layout the chain made: it must not be taken for the base layout
    ("known-unreachable",
     r"dsu: cannot convert struct obj@unit at 0x[0-9a-f]+ to layout bbbbbbbb: from its "
     r"tag cccccccc"),
    ("fail", r"dsu: converting struct obj@unit at 0x[0-9a-f]+ failed at step 3 of 3 .*"
             r"returned 9"),
])
def test_convert_aborts(build, case, message):
    r = subprocess.run([build.convert_unit, case], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == -signal.SIGABRT
    assert r.stdout == ""
    assert re.match(message, r.stderr), r.stderr


# ---- update-point safety -----------------------------------------------------
#
# pointprog reaches an update point only on command: "work" the one in
# work(), which still reads struct rec's fields after it, "step" the one at
# the head of the main loop, which uses no wrapped type, "stray" one that no
# table lists.


@pytest.fixture
def pprog(build):
    p = Program(build.pointprog)
    yield p
    assert p.stop() == ""


def apply_async(pid, patch, timeout=30):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "dsu_tool", "apply", str(pid), str(patch),
         "--timeout", str(timeout), "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(waiting):
    try:
        out, err = waiting.communicate(timeout=60)
    finally:
        waiting.kill()
    answer = json.loads(out)
    assert answer["exit_code"] == waiting.returncode
    return waiting.returncode, answer, err


def wait_pending(pid):
    # in-process: fast enough to leave most of a short timeout to the test
    assert wait_for(lambda: control.request_status(pid)["pending"])


def rec_reason(line=WORK_LINE, function="work"):
    return "struct rec@pointprog.c is in use at pointprog.c:%d (%s)" % (line, function)


def test_status_lists_update_points(pprog):
    assert status(pprog.pid)["points"] == [WORK_POINT, LOOP_POINT]


def test_type_patch_waits_for_a_safe_point(pprog, build):
    p = pprog
    waiting = apply_async(p.pid, build.p12)
    wait_pending(p.pid)
    s = status(p.pid)
    assert (s["deferred"], s["deferred_reason"]) == (0, "")
    # at work()'s point the old code goes on reading the old layout
    assert p.ask("work") == "old a=1 b=10"
    s = status(p.pid)
    assert s["pending"] is True
    assert (s["deferred"], s["deferred_reason"]) == (1, rec_reason())
    assert p.ask("work") == "old a=1 b=10"
    assert p.ask("step") == "v2"  # the loop head takes it
    rc, answer, err = finish(waiting)
    assert rc == 0, err
    assert answer["update_point"] == "pointprog.c:%d" % LOOP_LINE
    assert answer["deferred"] == 2
    assert p.ask("work") == "old a=1 b=10 c=0"  # the new work(), the program's label()
    s = status(p.pid)
    assert s["pending"] is False and s["deferred"] is None
    assert s["types"] == [dict(PREC_V1, layout="L-prec-2", changed=True, steps=1)]
    assert s["points"] == [WORK_POINT, LOOP_POINT]  # v2 lists the same ones


def test_only_restricted_point_reached_times_out(pprog, build):
    p = pprog
    before = status(p.pid)
    waiting = apply_async(p.pid, build.p12, timeout=2)
    wait_pending(p.pid)
    for _ in range(3):
        assert p.ask("work") == "old a=1 b=10"
    rc, answer, err = finish(waiting)
    assert (rc, answer["code"]) == (4, "timeout"), answer
    assert answer["reason"] == ("no safe update point was reached in 2.0 s (deferred 3 "
                                "times; last: %s)" % rec_reason())
    assert answer["reason"] in err
    # nothing changed, and the withdrawn request is not taken later
    assert p.ask("work") == "old a=1 b=10"
    assert p.ask("step") == "v1"
    assert p.ask("work") == "old a=1 b=10"
    assert status(p.pid) == before
    # once the safe point is reached, the same patch goes in
    waiting = apply_async(p.pid, build.p12)
    wait_pending(p.pid)
    assert p.ask("step") == "v2"
    rc, answer, err = finish(waiting)
    assert rc == 0, err
    assert answer["deferred"] == 0
    assert p.ask("work") == "old a=1 b=10 c=0"


def test_unlisted_point_is_not_trusted_with_type_changes(pprog, build):
    p = pprog
    waiting = apply_async(p.pid, build.p12)
    wait_pending(p.pid)
    assert p.ask("stray") == "ok"
    s = status(p.pid)
    assert s["deferred"] == 1
    assert s["deferred_reason"] == "pointprog.c:%d is not a known update point" % STRAY_LINE
    assert p.ask("step") == "v2"
    rc, answer, err = finish(waiting)
    assert rc == 0 and answer["deferred"] == 1, err


def test_type_used_at_every_point_refused_at_once(build):
    p = Program(build.pointprog_strict)  # main() uses struct rec after its point too
    try:
        before = status(p.pid)
        assert before["points"] == [WORK_POINT, dict(LOOP_POINT, restricted=[
            "struct rec@pointprog.c"])]
        t0 = time.monotonic()
        rc, answer, err = apply_json(p.pid, build.p12, "--timeout", "30")
        assert time.monotonic() - t0 < 10  # not after waiting for the timeout
        assert (rc, answer["code"]) == (3, "rejected"), answer
        assert answer["reason"] == (
            "no update point can take this patch: struct rec@pointprog.c is used by code "
            "active at every update point (pointprog.c:%d in work; pointprog.c:%d in main)"
            % (WORK_LINE, LOOP_LINE))
        assert p.ask("work") == "old a=1 b=10"
        assert p.ask("step") == "v1 a=1"
        assert status(p.pid) == before
        # a patch that changes no type may still apply anywhere
        waiting = apply_async(p.pid, build.pfn)
        wait_pending(p.pid)
        assert p.ask("step") == "v1b a=1"
        rc, answer, err = finish(waiting)
        assert rc == 0, err
        assert p.ask("work") == "fn a=1 b=10"
    finally:
        assert p.stop() == ""


def test_function_only_patch_applies_at_restricted_point(pprog, build):
    p = pprog
    waiting = apply_async(p.pid, build.pfn)
    wait_pending(p.pid)
    # taken at work()'s point: the label() called after it is already new
    assert p.ask("work") == "fn a=1 b=10"
    rc, answer, err = finish(waiting)
    assert rc == 0, err
    assert answer["update_point"] == "pointprog.c:%d" % WORK_LINE
    assert answer["deferred"] == 0
    assert p.ask("version") == "v1b"


def test_patch_points_merge_into_the_table(pprog, build):
    p = pprog
    waiting = apply_async(p.pid, build.pfn)
    wait_pending(p.pid)
    assert p.ask("work") == "fn a=1 b=10"
    rc, answer, err = finish(waiting)
    assert rc == 0, err
    # v1b's sets are added to v1's where the place is the same, since code
    # of either version may be running there; sorted by file and line
    rec, other = "struct rec@pointprog.c", "struct other@pointprog.c"
    assert status(p.pid)["points"] == [
        {"file": "aux.c", "line": 7, "function": "poll_aux", "restricted": [rec]},
        dict(WORK_POINT, restricted=[rec, other]),
        dict(LOOP_POINT, restricted=[rec]),
    ]
    # and they count: no point is left that could take a change of struct rec
    rc, answer, err = apply_json(p.pid, build.p12_v1b, "--timeout", "30")
    assert (rc, answer["code"]) == (3, "rejected"), answer
    assert answer["reason"] == (
        "no update point can take this patch: struct rec@pointprog.c is used by code "
        "active at every update point (aux.c:7 in poll_aux; pointprog.c:%d in work; "
        "pointprog.c:%d in main)" % (WORK_LINE, LOOP_LINE))
    assert p.ask("work") == "fn a=1 b=10" and p.ask("step") == "v1b"


def test_no_point_table_defers_type_patches(build):
    p = Program(build.typeprog_nopoints)
    try:
        assert status(p.pid)["points"] == []
        # an empty table refuses nothing, but no point is known to be safe
        rc, answer, err = apply_json(p.pid, build.t12, "--timeout", "0.5")
        assert (rc, answer["code"]) == (4, "timeout"), answer
        assert re.fullmatch(
            r"no safe update point was reached in 0\.5 s \(deferred \d+ times; last: "
            r"%s:\d+ is not a known update point\)" % re.escape(str(SRC / "typeprog.c")),
            answer["reason"]), answer["reason"]
        assert p.ask("show 0") == "a=1 b=10" and p.ask("version") == "v1"
        assert status(p.pid)["types"] == [REC_V1]
        rc, answer, err = apply_json(p.pid, build.tsame)  # changes no type
        assert rc == 0, err
        assert p.ask("show 0") == "v1b a=1 b=10"
    finally:
        assert p.stop() == ""
