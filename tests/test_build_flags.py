"""Builds and patches under the optimisation and debug flags developers
use: -O0 (gcc's default), -O2 and -Os, each with and without -g.

One SCons project builds the line server of tests/flags/ once per flag
set, as v1 and v2, and the patches between them; each test starts a v1
server, keeps a client connected on loopback across the update, and
checks that the changed function runs and the counts are kept.  No
updateable binary and no patch may carry text relocations: a slot that
the loader or the runtime writes must never be in read-only code.
"""

import os
import shutil
import socket
import subprocess

import pytest

from conftest import ROOT, copy_tree, dsu, scons
from dsu_tool.adopt import init

SOURCES = os.path.join(ROOT, 'tests', 'flags')
UNITS = ['main', 'net', 'store', 'proto']
FLAG_SETS = {'O0': '-O0', 'O0g': '-O0 -g', 'O2': '-O2', 'O2g': '-O2 -g',
             'Os': '-Os', 'Osg': '-Os -g'}

SCONSTRUCT = '''
env = Environment(tools=['default', 'dsu'])
for name, flags in sorted(%r.items()):
    variant = env.Clone(CFLAGS=flags.split() + ['-Wall', '-Werror'])
    objects = [variant.Object('%%s/%%s.o' %% (name, unit), 'src/%%s.c' %% unit)
               for unit in %r]
    variant.Program(name + '/server', objects)
''' % (FLAG_SETS, UNITS)


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('flags'))
    with open(os.path.join(root, 'SConstruct'), 'w') as f:
        f.write(SCONSTRUCT)
    init(root)
    copy_tree(os.path.join(SOURCES, 'v1'), os.path.join(root, 'src'))
    scons(root, '-j2', 'dsu=1', 'version=v1')
    for name in FLAG_SETS:
        shutil.copy(os.path.join(root, name, 'server'), os.path.join(root, name, 'server.v1'))
    copy_tree(os.path.join(SOURCES, 'v2'), os.path.join(root, 'src'))
    scons(root, '-j2', 'dsu=1', 'version=v2')
    out = scons(root, '-j2', 'patch', 'from=v1', 'to=v2').stdout
    return root, out


class Server:
    def __init__(self, path):
        self.proc = subprocess.Popen([path], stdout=subprocess.PIPE, text=True)
        port = int(self.proc.stdout.readline().split()[1])
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=10)
        self.replies = self.sock.makefile('r')

    def ask(self, line):
        self.sock.sendall(line.encode() + b'\n')
        return self.replies.readline().rstrip('\n')

    def close(self):
        self.sock.close()
        self.proc.kill()
        self.proc.wait()


def text_relocations(path):
    dynamic = subprocess.run(['readelf', '-d', path], capture_output=True, text=True,
                             check=True).stdout
    return 'TEXTREL' in dynamic


@pytest.mark.parametrize('name', sorted(FLAG_SETS))
def test_patch_applies_live(project, name):
    root, out = project
    binary = os.path.join(root, name, 'server.v1')
    patch = os.path.join(root, name, 'server.v1-to-v2.patch.so')
    assert not text_relocations(binary) and not text_relocations(patch)
    assert not text_relocations(os.path.join(root, name, 'server'))
    server = Server(binary)
    try:
        assert server.ask('add apple') == 'apple=1'
        assert server.ask('add apple') == 'apple=2'
        assert server.ask('add pear') == 'pear=1'
        r = dsu('apply', server.proc.pid, patch, '--timeout', '10')
        assert r.returncode == 0, r.stdout + r.stderr
        assert server.proc.poll() is None
        assert server.ask('get apple') == 'apple=2 (v2)'
        assert server.ask('add pear') == 'pear=2 (v2)'
        assert server.ask('add plum') == 'plum=1 (v2)'
    finally:
        server.close()


def summary_of(out, program):
    """The indented lines that follow `patch PROGRAM: ...` in OUT."""
    lines = out.split('\n')
    start = next(i for i, l in enumerate(lines) if l.startswith('patch %s:' % program))
    body = []
    for line in lines[start + 1:]:
        if not line.startswith('  '):
            break
        body.append(line.strip())
    return body


def test_patch_changes_one_function(project):
    root, out = project
    for name in FLAG_SETS:
        assert summary_of(out, name + '/server') == [
            'changed function   store_describe (src/store.c:27)']
