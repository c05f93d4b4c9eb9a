"""Update safety: the updateability analysis at work, loop extraction,
version consistency, and bad patches that leave the program unharmed."""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import PROGRAMS, EXAMPLES, dsu, scons, tool_env

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'safety')


class Project:
    def __init__(self, root, files, main=None, passes=None):
        self.root = str(root)
        os.makedirs(self.root)
        shutil.copy(main or os.path.join(PROGRAMS, 'driver.c'),
                    os.path.join(self.root, 'driver.c'))
        with open(os.path.join(self.root, 'SConstruct'), 'w') as f:
            f.write("env = Environment(tools=['default', 'dsu'])\n"
                    "env.Append(CFLAGS=['-O2', '-Wall'])\n")
            if passes:
                f.write("env['DSUPASSES'] = %r\n" % passes)
            f.write("env.Program('prog', %r)\n" % files)
        assert dsu('init', self.root).returncode == 0

    def version(self, name, sources):
        for dst, src in sources.items():
            shutil.copy(os.path.join(HERE, src), os.path.join(self.root, dst))
        scons(self.root, 'dsu=1', 'version=' + name)
        shutil.copy(os.path.join(self.root, 'prog'), os.path.join(self.root, 'prog.' + name))

    def path(self, name):
        return os.path.join(self.root, name)

    def patch(self, frm, to, *extra, check=True):
        return scons(self.root, 'patch', 'from=' + frm, 'to=' + to, *extra, check=check)

    def patch_file(self, frm, to):
        return self.path('prog.%s-to-%s.patch.so' % (frm, to))

    def points(self, version):
        with open(self.path('.dsu/versions/%s/prog/version.json' % version)) as f:
            return json.load(f)['points']


def apply_async(pid, patch, timeout=10):
    return subprocess.Popen([sys.executable, '-m', 'dsu_tool', 'apply', str(pid), patch,
                             '--timeout', str(timeout), '--json'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=tool_env())


@pytest.fixture(scope='module')
def work(tmp_path_factory):
    p = Project(tmp_path_factory.mktemp('work') / 'p', ['driver.c', 'lib.c'])
    p.version('v1', {'lib.c': 'work_v1.c'})
    p.version('v1b', {'lib.c': 'work_v1b.c'})
    p.version('v2', {'lib.c': 'work_v2.c'})
    p.patch('v1', 'v2')
    p.patch('v1', 'v1b')
    return p


def test_manifest_records_points_with_their_capabilities(work):
    points = {(p['function'], p['line']): p for p in work.points('v1')}
    head = [p for (fn, _), p in points.items() if fn == 'main']
    inner = [p for (fn, _), p in points.items() if fn == 'work']
    assert len(head) == 1 and head[0]['restricted'] == []
    assert len(inner) == 1 and inner[0]['restricted'] == ['struct rec@lib.c']
    assert {u['function'] for u in inner[0]['uses']} == {'work', 'handle'}


def test_type_change_waits_for_a_safe_point(work, program):
    p = program(work.path('prog.v1'))
    assert p.ask('a') == 'a v1 count=0'
    p.proc.stdin.write('w\n')
    p.proc.stdin.flush()
    time.sleep(0.1)                          # inside work(): its point is unsafe
    apply = apply_async(p.pid, work.patch_file('v1', 'v2'))
    # work() goes on with its own (old) code, then returns to the loop head
    assert p.proc.stdout.readline().strip() == 'work v1 count=1'
    out, err = apply.communicate(timeout=20)
    assert apply.returncode == 0, err
    answer = json.loads(out)
    assert answer['deferred'] > 0
    assert answer['update_point'].startswith('driver.c:')
    assert p.ask('b') == 'b v2 count=1 extra=0'
    assert p.ask('w') == 'work v2 count=2'


@pytest.fixture(scope='module')
def direct(tmp_path_factory):
    p = Project(tmp_path_factory.mktemp('direct') / 'p', ['driver.c', 'lib.c', 'work.c'])
    p.version('v1', {'lib.c': 'direct_v1.c', 'work.c': 'direct_work.c'})
    p.version('v2', {'lib.c': 'direct_v2.c'})
    p.patch('v1', 'v2')
    return p


def test_direct_calls_count_as_code_that_may_still_run(direct, program):
    """handle() uses no struct, but calls bump() and show() directly (same
    unit, no slot): their old code may run after an update at run_work()'s
    point, so struct rec is restricted there."""
    points = direct.points('v1')
    inner = [p for p in points if p['function'] == 'run_work']
    assert len(inner) == 1 and inner[0]['restricted'] == ['struct rec@lib.c']
    assert {u['function'] for u in inner[0]['uses']} == {'bump', 'show'}
    assert [p['restricted'] for p in points if p['function'] == 'main'] == [[]]
    p = program(direct.path('prog.v1'))
    assert p.ask('a') == 'a v1 count=0'
    p.proc.stdin.write('w\n')
    p.proc.stdin.flush()
    time.sleep(0.1)                          # inside run_work()'s loop
    apply = apply_async(p.pid, direct.patch_file('v1', 'v2'))
    assert p.proc.stdout.readline().strip() == 'work v1 count=1'     # old bump()
    out, err = apply.communicate(timeout=20)
    assert apply.returncode == 0, err
    answer = json.loads(out)
    assert answer['deferred'] > 0 and answer['update_point'].startswith('driver.c:')
    assert p.ask('b') == 'b v2 count=1 extra=0'
    assert p.ask('w') == 'work v2 count=2'


def test_without_direct_calls_only_the_stack_counts(tmp_path):
    """With every call through a slot (DSUPASSES without 'direct'), old
    code of bump() cannot run after an update: only the stack counts."""
    p = Project(tmp_path / 'p', ['driver.c', 'lib.c', 'work.c'],
                passes='loops,wrap,promote,indirect')
    p.version('v1', {'lib.c': 'direct_v1.c', 'work.c': 'direct_work.c'})
    inner = [pt for pt in p.points('v1') if pt['function'] == 'run_work']
    assert len(inner) == 1 and inner[0]['restricted'] == []
    with open(p.path('.dsu/gen/lib.o.dsu.c')) as f:
        assert '__dsu_slot_bump__dsu_lib_c_' in f.read()


def test_function_moved_to_another_unit_takes_its_direct_callers_along(tmp_path, program):
    """handle() called helper() directly in v1; v2 moves helper() to
    another unit, unchanged, so handle()'s text is the same but its call
    is no longer direct: the v1 -> v2 patch must replace handle() too, or
    the v2 -> v3 change to helper() would never reach it."""
    p = Project(tmp_path / 'moved', ['driver.c', 'lib.c', 'more.c'])
    p.version('v1', {'lib.c': 'moved_lib_v1.c', 'more.c': 'moved_more_v1.c'})
    p.version('v2', {'lib.c': 'moved_lib_v2.c', 'more.c': 'moved_more_v2.c'})
    p.version('v3', {'more.c': 'moved_more_v3.c'})
    out = p.patch('v1', 'v2').stdout
    assert 'rebound function   handle' in out
    assert 'the functions it calls directly changed' in out
    p.patch('v2', 'v3')
    run = program(p.path('prog.v1'))
    assert run.ask('a') == 'a helper=2'
    assert dsu('apply', run.pid, p.patch_file('v1', 'v2')).returncode == 0
    assert run.ask('b') == 'b helper=2'
    assert dsu('apply', run.pid, p.patch_file('v2', 'v3')).returncode == 0
    assert run.ask('c') == 'c helper=101'


def test_active_function_finishes_in_its_old_version(work, program):
    """A function-only patch may apply inside work(); work()'s own frame
    still finishes with the old code, its next call runs the new code."""
    p = program(work.path('prog.v1'))
    p.proc.stdin.write('w\n')
    p.proc.stdin.flush()
    time.sleep(0.1)
    apply = apply_async(p.pid, work.patch_file('v1', 'v1b'))
    assert p.proc.stdout.readline().strip() == 'work v1 count=1'
    out, err = apply.communicate(timeout=20)
    assert apply.returncode == 0, err
    assert json.loads(out)['update_point'].startswith('lib.c:')
    assert p.ask('w') == 'work NEW count=2'


def test_loop_body_change_takes_effect_without_restart(tmp_path, program):
    p = Project(tmp_path / 'echo', ['driver.c'], main=os.path.join(HERE, 'echo_v1.c'))
    p.version('v1', {'driver.c': 'echo_v1.c'})
    p.version('v2', {'driver.c': 'echo_v2.c'})
    out = p.patch('v1', 'v2').stdout
    assert 'changed function   loop 1 in main' in out
    run = program(p.path('prog.v1'))
    assert run.ask('one') == 'echo 1: one'
    assert dsu('apply', run.pid, p.patch_file('v1', 'v2')).returncode == 0
    assert run.ask('two') == 'ECHO 2: two (v2)'       # main never returned


def test_patch_no_point_can_take_is_refused_at_once(tmp_path, program):
    p = Project(tmp_path / 'blocked', ['driver.c', 'lib.c'],
                main=os.path.join(HERE, 'blocked_driver.c'))
    p.version('v1', {'lib.c': 'blocked_v1.c'})
    p.version('v2', {'lib.c': 'blocked_v2.c'})
    # told from the versions' records, before any recorded unit is read:
    # with the units out of the way the refusal is the same
    units = glob.glob(os.path.join(p.root, '.dsu', 'versions', '*', '**', 'units', '*.i'),
                      recursive=True)
    assert len(units) == 4
    for i in units:
        os.rename(i, i + '.away')
    r = p.patch('v1', 'v2', check=False)
    for i in units:
        os.rename(i + '.away', i)
    assert r.returncode != 0
    assert 'no update point of v1 can take this patch' in r.stderr
    assert 'lib.c:10 (handle): used by struct acct in handle (lib.c:' in r.stderr
    again = p.patch('v1', 'v2', check=False)
    assert again.returncode != 0 and again.stderr == r.stderr
    p.patch('v1', 'v2', 'force=1')
    check = dsu('check', p.patch_file('v1', 'v2'), '--project', p.root)
    assert check.returncode == 3
    assert 'lib.c:10 (handle): not here, in use: struct acct in handle' in check.stdout
    run = program(p.path('prog.v1'))
    assert run.ask('a') == 'a balance=5'
    start = time.time()
    r = dsu('apply', run.pid, p.patch_file('v1', 'v2'), '--timeout', '10')
    assert r.returncode == 3 and time.time() - start < 5
    assert 'no update point can take this patch' in r.stderr
    assert run.ask('b') == 'b balance=10'


def test_dsu_check_lists_where_a_patch_applies(work):
    r = dsu('check', work.patch_file('v1', 'v2'), '--project', work.root)
    assert r.returncode == 0
    assert 'driver.c:' in r.stdout and 'can apply here' in r.stdout
    assert 'lib.c:15 (work): not here, in use: struct rec in handle' in r.stdout


# -- bad patches against the example server -----------------------------------

@pytest.fixture(scope='module')
def kvd(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('kvd') / 'kvd')
    shutil.copytree(os.path.join(EXAMPLES, 'kvd', 'v1'), root)
    assert dsu('init', root).returncode == 0
    scons(root, 'dsu=1', 'version=v1')
    shutil.copy(os.path.join(root, 'kvd'), os.path.join(root, 'kvd.v1'))
    for version in ('v2', 'v3'):
        for name in os.listdir(os.path.join(EXAMPLES, 'kvd', version)):
            shutil.copy(os.path.join(EXAMPLES, 'kvd', version, name), root)
        scons(root, 'dsu=1', 'version=' + version)
    for v in ('v1', 'v2'):
        for name in os.listdir(os.path.join(EXAMPLES, 'kvd', v)):
            shutil.copy(os.path.join(EXAMPLES, 'kvd', v, name), root)
    scons(root, 'patch', 'from=v1', 'to=v2')
    scons(root, 'patch', 'from=v2', 'to=v1')
    scons(root, 'patch', 'from=v2', 'to=v3')
    return root


class Server:
    def __init__(self, binary):
        sys.path.insert(0, os.path.join(EXAMPLES, 'kvd'))
        from client import Client, wait_for_listen
        self.proc = subprocess.Popen([binary, '0'], stdout=subprocess.PIPE)
        self.port = wait_for_listen(self.proc)
        self.Client = Client

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def server(kvd):
    s = Server(os.path.join(kvd, 'kvd.v1'))
    yield s
    s.stop()


def _bad_patches(kvd, work):
    good = os.path.join(kvd, 'kvd.v1-to-v2.patch.so')
    data = open(good, 'rb').read()

    def put(name, content, mode=0o644):
        path = os.path.join(work, name)
        with open(path, 'wb') as f:
            f.write(content)
        os.chmod(path, mode)
        return path
    return [
        ('built for another version', os.path.join(kvd, 'kvd.v2-to-v3.patch.so'), 3),
        ('truncated', put('truncated.so', data[:len(data) // 3]), 2),
        ('corrupt', put('corrupt.so', data[:64] + bytes(len(data) - 64)), 2),
        ('not a shared object', put('text.so', b'hello\n' * 100), 2),
        ('writable by others', put('open.so', data, 0o666), 3),
    ]


def test_bad_patches_are_refused_and_the_server_keeps_serving(kvd, server, tmp_path):
    c = server.Client(server.port)
    assert c.request('SET k precious') == 'OK'
    for what, patch, code in _bad_patches(kvd, str(tmp_path)):
        r = dsu('apply', server.proc.pid, patch, '--timeout', '5')
        assert r.returncode == code, (what, r.stdout, r.stderr)
        assert r.stderr.strip(), what
        assert c.request('GET k') == 'precious', what
        assert c.request('VERSION') == 'kvd v1', what
    assert dsu('apply', server.proc.pid,
               os.path.join(kvd, 'kvd.v1-to-v2.patch.so')).returncode == 0
    assert c.request('GET k') == 'precious'


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('setpriv'),
                    reason='needs root and setpriv to act as another user')
def test_patch_owned_by_or_requested_by_another_user_is_refused(kvd, server):
    shared = tempfile.mkdtemp(prefix='dsu-other-')
    try:
        os.chmod(shared, 0o755)
        theirs = os.path.join(shared, 'theirs.so')
        shutil.copy(os.path.join(kvd, 'kvd.v1-to-v2.patch.so'), theirs)
        os.chmod(theirs, 0o644)
        os.chown(theirs, 65534, 65534)
        c = server.Client(server.port)
        c.request('SET k 1')
        r = dsu('apply', server.proc.pid, theirs)
        assert r.returncode == 3 and 'owned by' in r.stderr
        mine = os.path.join(shared, 'mine.so')
        shutil.copy(os.path.join(kvd, 'kvd.v1-to-v2.patch.so'), mine)
        os.chmod(mine, 0o644)
        r = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
                            sys.executable, '-m', 'dsu_tool', 'apply',
                            str(server.proc.pid), mine],
                           capture_output=True, text=True, env=tool_env())
        assert r.returncode == 3, r.stderr
        assert c.request('GET k') == '1' and c.request('VERSION') == 'kvd v1'
    finally:
        shutil.rmtree(shared)


def test_forward_and_back_under_load(kvd):
    """Clients keep sending requests over loopback while the server goes
    v1 -> v2 -> v1 ... twenty times: every request gets exactly its answer,
    no connection drops, every update applies."""
    import threading
    server = Server(os.path.join(kvd, 'kvd.v1'))
    stop, errors, done = threading.Event(), [], [0] * 4

    def client(n):
        try:
            c = server.Client(server.port)
            i = 0
            while not stop.is_set() and i < 200000:
                key, value = 'c%d_%d' % (n, i % 40), 'v%d_%d' % (n, i)
                for request, expected in (('SET %s %s' % (key, value), 'OK'),
                                          ('GET ' + key, value)):
                    answer = c.request(request)
                    if answer != expected:
                        errors.append((request, expected, answer))
                done[n] += 2
                i += 1
        except Exception as e:          # a dropped connection ends up here
            errors.append(('client %d' % n, 'no exception', repr(e)))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.2)
        for k in range(20):
            patch = 'kvd.v1-to-v2.patch.so' if k % 2 == 0 else 'kvd.v2-to-v1.patch.so'
            r = dsu('apply', server.proc.pid, os.path.join(kvd, patch), '--timeout', '10')
            assert r.returncode == 0, (k, r.stderr)
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        server.stop()
    assert errors == []
    assert all(n > 100 for n in done), done


def test_example_manifest_shows_its_update_point(kvd):
    with open(os.path.join(kvd, '.dsu', 'versions', 'v3', 'kvd', 'version.json')) as f:
        points = json.load(f)['points']
    # kvd's main loop: the body is extracted, so its head restricts nothing
    assert [(p['file'], p['function'], p['restricted']) for p in points] == \
        [('main.c', 'main', [])]
