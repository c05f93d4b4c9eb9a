"""Shared fixtures: real SCons projects in temporary directories, real
processes, the `dsu` command run as a subprocess."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = os.path.join(ROOT, 'tests', 'programs')
EXAMPLES = os.path.join(ROOT, 'examples')

try:            # the installed package when there is one, else the source tree
    import dsu_tool
except ImportError:
    sys.path.insert(0, ROOT)
    import dsu_tool
TOOL_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(dsu_tool.__file__)))


# The compiled runtime is kept for the session, not in the user's cache.
RUNTIME_CACHE = tempfile.mkdtemp(prefix='dsu-test-cache-')
atexit.register(shutil.rmtree, RUNTIME_CACHE, True)


def tool_env():
    """Subprocesses (dsu, scons) use the same dsu_tool as the tests."""
    env = dict(os.environ, DSU_CACHE_DIR=RUNTIME_CACHE)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (TOOL_PARENT, env.get('PYTHONPATH', '')) if p)
    return env


def dsu(*args, timeout=60):
    """Run the dsu command; return the CompletedProcess."""
    return subprocess.run([sys.executable, '-m', 'dsu_tool'] + [str(a) for a in args],
                          capture_output=True, text=True, env=tool_env(),
                          timeout=timeout)


def scons(project, *args, check=True):
    proc = subprocess.run([sys.executable, '-m', 'SCons', '-Q'] + list(args),
                          cwd=project, capture_output=True, text=True,
                          env=tool_env(), timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError('scons %s failed:\n%s\n%s' % (
            ' '.join(args), proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc


def copy_tree(src, dst):
    """Copy SRC's files over DST (the developer 'edits the sources')."""
    for name in os.listdir(src):
        s = os.path.join(src, name)
        if os.path.isdir(s):
            copy_tree(s, os.path.join(dst, name))
        else:
            os.makedirs(dst, exist_ok=True)
            shutil.copy(s, os.path.join(dst, name))


class Program:
    """A running line-oriented test program (tests/programs/driver.c)."""

    def __init__(self, path):
        self.proc = subprocess.Popen([path], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        assert self.proc.stdout.readline().strip() == 'ready'

    @property
    def pid(self):
        return self.proc.pid

    def ask(self, line):
        self.proc.stdin.write(line + '\n')
        self.proc.stdin.flush()
        return self.proc.stdout.readline().rstrip('\n')

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def program():
    started = []

    def start(path):
        p = Program(path)
        started.append(p)
        return p
    yield start
    for p in started:
        p.close()
