"""`scons dsu=1` runs the compiler wrapper in one warm process
(dsu_tool/scons/warm.py) instead of a new Python per unit.  What a compile
sees must not change: its arguments, SCons' ENV (and nothing of SCons'
own environment), its directory, its streams, its exit status; a
command only a shell can run still goes to the shell; and the warm
process does not outlive SCons."""

import os
import shutil
import signal
import subprocess
import sys
import time

from conftest import dsu, tool_env

UNIT = '''#include <stdio.h>
#include "shape.h"

double area(const struct shape *s) { return s->w * s->h; }
'''

MAIN = '''#include <stdio.h>
#include "shape.h"

int main(void)
{
    struct shape s = { 3, 4 };
    printf("%g\\n", area(&s));
    return 0;
}
'''

# A compiler that says who started it and with what, then runs gcc.
CC = '''#!/bin/sh
echo "args: $* | parent: $(tr '\\0' ' ' < /proc/$PPID/cmdline)| cwd: $(pwd) |\
 inside: ${DSU_TEST_INSIDE-unset} outside: ${DSU_TEST_OUTSIDE-unset}" >> "$CC_LOG"
exec gcc "$@"
'''

SCONSTRUCT = '''import os
os.environ['DSU_TEST_OUTSIDE'] = 'leaked'
env = Environment(tools=['default', 'dsu'])
env['CC'] = %(cc)r
env['ENV']['DSU_TEST_INSIDE'] = 'yes'
env['ENV']['CC_LOG'] = %(log)r
env.Append(CFLAGS=['-O2', '-Wall'], CPPPATH=['include'])
env.Program('shapes', ['src/main.c', 'src/shape.c'])
'''


def _write(path, text, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    if mode:
        os.chmod(path, mode)


def _project(root):
    root = str(root)
    log = os.path.join(root, 'cc.log')
    _write(os.path.join(root, 'bin', 'cc.sh'), CC, 0o755)
    _write(os.path.join(root, 'include', 'shape.h'),
           'struct shape { double w, h; };\ndouble area(const struct shape *s);\n')
    _write(os.path.join(root, 'src', 'shape.c'), UNIT)
    _write(os.path.join(root, 'src', 'main.c'), MAIN)
    _write(os.path.join(root, 'SConstruct'), SCONSTRUCT % {
        'cc': os.path.join(root, 'bin', 'cc.sh'), 'log': log})
    r = dsu('init', root)
    assert r.returncode == 0, r.stderr
    return root, log


def _scons(root, *args, warm=True, session=False):
    env = dict(tool_env(), DSU_WARM='1' if warm else '0')
    return subprocess.run([sys.executable, '-m', 'SCons', '-Q'] + list(args), cwd=root,
                          capture_output=True, text=True, env=env, timeout=300,
                          start_new_session=session)


def _log(log):
    with open(log) as f:
        return f.read().splitlines()


def _generated(root):
    out = {}
    for unit in ('main', 'shape'):
        with open(os.path.join(root, '.dsu', 'gen', 'src', unit + '.o.dsu.c')) as f:
            out[unit] = f.read()
    return out


def test_a_compile_sees_the_same_command_environment_and_directory(tmp_path):
    seen, generated = {}, {}
    for warm in (True, False):
        root, log = _project(tmp_path / ('warm' if warm else 'cold'))
        # one job: with two, which unit records the struct's size first
        # (.dsu/layouts.json) depends on timing, and the other's text with it
        r = _scons(root, 'dsu=1', 'version=v1', warm=warm)
        assert r.returncode == 0, r.stdout + r.stderr
        out = subprocess.run([os.path.join(root, 'shapes')], capture_output=True, text=True)
        assert out.stdout == '12\n'
        # the wrapper's runs: cpp and the compile of each unit (the version
        # object and the link are SCons' own commands)
        runs = [dict(part.strip().split(': ', 1) for part in line.split('|'))
                for line in _log(log)]
        wrapped = [r for r in runs if r['args'].startswith('-E ') or '.o.dsu.c' in r['args']]
        assert len(runs) == 6 and len(wrapped) == 4, runs
        if warm:
            # in a fork of SCons: no new Python started
            assert all('-m SCons' in r['parent'] for r in wrapped), wrapped
        else:
            assert all('-m dsu_tool.cc' in r['parent'] for r in wrapped), wrapped
        for r in runs:
            assert r['cwd'] == root and r['inside'] == 'yes outside: unset', r
        seen[warm] = sorted(r['args'].replace(root, 'ROOT') for r in wrapped)
        generated[warm] = {k: v.replace(root, 'ROOT') for k, v in _generated(root).items()}
    assert seen[True] == seen[False]
    assert generated[True] == generated[False]


def test_a_failing_compile_fails_the_build_with_the_compilers_message(tmp_path):
    root, _ = _project(tmp_path)
    _write(os.path.join(root, 'src', 'shape.c'), UNIT.replace('s->w', 's->width'))
    r = _scons(root, 'dsu=1', 'version=v1')
    assert r.returncode != 0
    assert "has no member named 'width'" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(root, 'shapes'))
    assert not os.path.exists(os.path.join(root, 'src', 'shape.o'))
    # the unit that compiled is there, and the next build takes the fix
    assert os.path.exists(os.path.join(root, 'src', 'main.o'))
    _write(os.path.join(root, 'src', 'shape.c'), UNIT)
    r = _scons(root, 'dsu=1', 'version=v1')
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_wrapper_command_that_needs_the_shell_goes_to_the_shell(tmp_path):
    """A project's CCCOM with a redirection: the shell must apply it."""
    root, log = _project(tmp_path)
    with open(os.path.join(root, 'SConstruct'), 'a') as f:
        f.write("env['CCCOM'] = env['CCCOM'] + ' 2> ${TARGET}.log'\n")
    _write(os.path.join(root, 'src', 'shape.c'),
           UNIT.replace('{ return', '{ int unused; return'))
    r = _scons(root, 'dsu=1', 'version=v1')
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(root, 'src', 'shape.o.log')) as f:
        assert "unused variable" in f.read()
    assert "unused variable" not in r.stderr
    parents = [line for line in _log(log) if '-m dsu_tool.cc' in line]
    assert len(parents) == 4, _log(log)


def test_the_warm_process_ends_with_scons(tmp_path):
    root, _ = _project(tmp_path)
    r = _scons(root, '-j2', 'dsu=1', 'version=v1', session=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # the server and its children are forks of SCons: same command line,
    # same directory
    deadline = time.time() + 10
    while time.time() < deadline and _leftover(root):
        time.sleep(0.1)
    assert not _leftover(root)


def _leftover(root):
    """Processes still running SCons in ROOT."""
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                cmd = f.read().replace(b'\0', b' ').decode(errors='replace')
            cwd = os.readlink('/proc/%s/cwd' % pid)
        except OSError:
            continue
        if 'SCons' in cmd and cwd == root:
            found.append((pid, cmd))
    return found


def test_an_interrupted_build_leaves_no_process(tmp_path):
    root, _ = _project(tmp_path)
    # a compiler slow enough to be interrupted
    with open(os.path.join(root, 'bin', 'cc.sh')) as f:
        text = f.read()
    _write(os.path.join(root, 'bin', 'cc.sh'), text.replace('exec gcc', 'sleep 2; exec gcc'),
           0o755)
    env = dict(tool_env(), DSU_WARM='1')
    p = subprocess.Popen([sys.executable, '-m', 'SCons', '-Q', 'dsu=1', 'version=v1'],
                         cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    time.sleep(1.5)
    os.killpg(p.pid, signal.SIGINT)
    p.communicate(timeout=60)
    deadline = time.time() + 10
    while time.time() < deadline and _leftover(root):
        time.sleep(0.1)
    assert not _leftover(root)


def test_a_command_the_shell_must_unquote_goes_to_the_shell(tmp_path):
    """A define SCons leaves for the shell to read (`\\"`, `$` in double
    quotes) is read by the shell, as in the plain build."""
    root, log = _project(tmp_path)
    with open(os.path.join(root, 'SConstruct'), 'a') as f:
        f.write("env.Append(CPPDEFINES=[('GREETING', '\\\\\"a$$USER b\\\\\"')])\n")
    _write(os.path.join(root, 'src', 'main.c'), MAIN.replace(
        'printf("%g\\n", area(&s));', 'printf("%g %s\\n", area(&s), GREETING);'))
    shapes = os.path.join(root, 'shapes')
    r = _scons(root)
    assert r.returncode == 0, r.stdout + r.stderr
    plain = subprocess.run([shapes], capture_output=True, text=True).stdout
    assert plain.startswith('12 a') and plain.endswith(' b\n'), plain
    assert _scons(root, '-c').returncode == 0
    os.remove(log)
    r = _scons(root, 'dsu=1', 'version=v1')
    assert r.returncode == 0, r.stdout + r.stderr
    assert subprocess.run([shapes], capture_output=True, text=True).stdout == plain
    wrapped = [line for line in _log(log) if line.startswith('args: -E ')]
    assert len(wrapped) == 2 and all('-m dsu_tool.cc' in line for line in wrapped), wrapped


def test_the_cache_settings_of_the_shell_reach_the_compiles(tmp_path):
    """SCons runs compiles in its ENV; the caches' settings the developer
    gave in the shell still apply there (frontend.headers keeps the
    parsed system headers under $DSU_CACHE_DIR, unless DSU_HEADER_CACHE=0)."""
    root, _ = _project(tmp_path / 'proj')
    cache = str(tmp_path / 'cache')
    for off in (True, False):
        env = dict(tool_env(), DSU_CACHE_DIR=cache, DSU_HEADER_CACHE='0' if off else '1')
        r = subprocess.run([sys.executable, '-m', 'SCons', '-Q', 'dsu=1', 'version=v1'],
                           cwd=root, capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        kept = os.path.join(cache, 'headers')
        entries = os.listdir(kept) if os.path.isdir(kept) else []
        if off:
            assert entries == []
            assert subprocess.run([sys.executable, '-m', 'SCons', '-Q', '-c', 'dsu=1'],
                                  cwd=root, env=env, capture_output=True).returncode == 0
            shutil.rmtree(os.path.join(root, '.dsu'))
        else:
            # both units start with <stdio.h> alone: they share one
            assert len(entries) == 1, entries
