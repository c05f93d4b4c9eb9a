"""Programs with several threads: an update is installed only when it
cannot corrupt what other threads are doing.

tests/threads/acct: worker threads move money between accounts (struct
acct) under a mutex; the sum of the balances stays 0.  v2 adds a field at
the front of struct acct, so old code still running in a worker would
write the old offsets into objects new code has converted.
"""

import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import ROOT, Program, copy_tree, dsu, scons
from dsu_tool.adopt import init

CASES = os.path.join(ROOT, 'tests', 'threads')

SCONSTRUCT = '''
env = Environment(tools=['default', 'dsu'])
env.Append(CFLAGS=['-O2', '-Wall', '-Werror', '-pthread'], LINKFLAGS=['-pthread'])
env.Program('prog', ['main.c'])
'''


class Build:
    def __init__(self, root):
        self.root = root

    def binary(self, version):
        return os.path.join(self.root, 'prog.' + version)

    def patch(self, a, b):
        return os.path.join(self.root, 'prog.%s-to-%s.patch.so' % (a, b))


def build_case(root, case, versions):
    """Build every version of CASE updateable in ROOT, keep each binary
    as prog.VERSION, and make the patches between consecutive versions."""
    with open(os.path.join(root, 'SConstruct'), 'w') as f:
        f.write(SCONSTRUCT)
    init(root)
    for v in versions:
        copy_tree(os.path.join(CASES, case, v), root)
        scons(root, 'dsu=1', 'version=' + v)
        shutil.copy(os.path.join(root, 'prog'), os.path.join(root, 'prog.' + v))
    for a, b in zip(versions, versions[1:]):
        scons(root, 'patch', 'from=' + a, 'to=' + b)
    return Build(root)


@pytest.fixture(scope='module')
def acct(tmp_path_factory):
    return build_case(str(tmp_path_factory.mktemp('acct')), 'acct', ['v1', 'v2'])


class Started(Program):
    def __init__(self, argv):          # Program, with arguments
        import subprocess
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        assert self.proc.stdout.readline().strip() == 'ready'


def threads_of(pid):
    return len(os.listdir('/proc/%d/task' % pid))


def total(p):
    words = p.ask('total').split()
    assert words[0] == 'total' and words[2] == 'ops', words
    return int(words[1]), int(words[3])


def test_workers_that_take_no_part_refuse_the_update(acct):
    """The corruption scenario: two workers write struct acct while main
    reaches DSU_update().  Refused with the reason, nothing changed, and
    the program goes on computing correct totals."""
    with Started([acct.binary('v1'), '2']) as p:
        _, ops0 = total(p)
        r = dsu('apply', p.pid, acct.patch('v1', 'v2'), '--timeout', '5', '--json')
        assert r.returncode == 3, r.stdout + r.stderr
        answer = json.loads(r.stdout)
        assert answer['code'] == 'rejected'
        assert 'runs 3 threads that may run program code' in answer['reason'], answer
        assert 'nothing was changed' in answer['reason']
        assert p.ask('version') == 'v1'
        time.sleep(0.2)
        balance, ops = total(p)
        assert balance == 0 and ops > ops0
        st = json.loads(dsu('status', p.pid, '--json').stdout)
        assert st['version'] == 'v1' and not st.get('patches'), st


def test_single_threaded_program_still_updates(acct):
    """The same program without workers: the update goes through and the
    accounts, converted to v2, keep their balances."""
    with Started([acct.binary('v1'), '0']) as p:
        for _ in range(5):
            assert p.ask('transfer') == 'ok'
        assert total(p) == (0, 10)
        r = dsu('apply', p.pid, acct.patch('v1', 'v2'), '--timeout', '10')
        assert r.returncode == 0, r.stdout + r.stderr
        assert p.ask('version') == 'v2'
        assert p.ask('transfer') == 'ok'
        assert total(p) == (0, 12)


def test_thread_started_after_the_request_refuses_it_at_the_update_point(acct):
    """Single-threaded when the request arrives, two threads when the
    update point is reached: refused there, before anything changed."""
    with Started([acct.binary('v1'), '0']) as p:
        assert threads_of(p.pid) == 2          # main and the control thread
        assert p.ask('spawn-later') == 'ok'    # a worker starts in 2 s
        r = dsu('apply', p.pid, acct.patch('v1', 'v2'), '--timeout', '10', '--json')
        assert r.returncode == 3, r.stdout + r.stderr
        assert 'runs 2 threads that may run program code' in json.loads(r.stdout)['reason']
        assert p.ask('version') == 'v1'
        assert total(p)[0] == 0


# ---- lazy conversion with threads -----------------------------------------

RUNTIME = os.path.join(ROOT, 'dsu_tool', 'runtime')


def _convert_race(tmp_path, flags):
    from dsu_tool.patchgen.emit import CHECK
    with open(tmp_path / 'check.h', 'w') as f:
        f.write(CHECK % dict(macro='CHECK_OBJ', cell='obj_cell', tag='tag', value=0xcccccccc))
    exe = tmp_path / 'convert_race'
    subprocess.run(['gcc', '-O2', '-Wall', '-Wextra', '-Werror', *flags, '-I', str(tmp_path),
                    '-I', os.path.join(RUNTIME, 'include'), '-I', RUNTIME,
                    os.path.join(CASES, 'convert_race.c'), '-o', str(exe), '-pthread', '-ldl'],
                   check=True)
    env = dict(os.environ, TSAN_OPTIONS='halt_on_error=1 exitcode=66')
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=120, env=env)


def test_threads_converting_the_same_objects_convert_each_once(tmp_path):
    r = _convert_race(tmp_path, [])
    assert (r.returncode, r.stdout) == (0, 'ok\n'), r.stdout + r.stderr


def _tsan_works(tmp_path):
    src = tmp_path / 'probe.c'
    src.write_text('int main(void) { return 0; }\n')
    p = subprocess.run(['gcc', '-fsanitize=thread', str(src), '-o', str(tmp_path / 'probe')],
                       capture_output=True)
    return p.returncode == 0 and subprocess.run([str(tmp_path / 'probe')]).returncode == 0


def test_conversion_has_no_data_race_under_thread_sanitizer(tmp_path):
    if not _tsan_works(tmp_path):
        pytest.skip('gcc here cannot build with -fsanitize=thread')
    r = _convert_race(tmp_path, ['-fsanitize=thread', '-g'])
    assert (r.returncode, r.stdout) == (0, 'ok\n'), r.stdout + r.stderr[-4000:]
