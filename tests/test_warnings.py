"""Generated code compiles warning-free under the developer's flags.

A program written the usual way (tests/warnings/: two units, a struct
with positional initialisers, static functions, a function-local static,
a table of function pointers, the update point in the shared driver) compiles cleanly with
`-Wall -Wextra -Werror`; `scons dsu=1` and `scons patch` must then succeed
with the same flags (v2 changes a function and gives the struct a field),
and with `-std=c99 -pedantic` (a function's address as `void *` is
outside ISO C),
and the patch must apply live and keep the counts.
"""

import os
import shutil

import pytest

from conftest import PROGRAMS, ROOT, copy_tree, dsu, scons
from dsu_tool.adopt import init

SOURCES = os.path.join(ROOT, 'tests', 'warnings')
FLAG_SETS = {
    'wextra': '-O2 -Wall -Wextra -Werror',
    'wextra_O0': '-O0 -g -Wall -Wextra -Werror',
    'pedantic': '-std=c99 -pedantic -O2 -Wall -W -Werror',     # as redis builds
}

SCONSTRUCT = '''
env = Environment(tools=['default', 'dsu'])
for name, flags in sorted(%r.items()):
    variant = env.Clone(CFLAGS=flags.split())
    objects = [variant.Object('%%s/%%s.o' %% (name, unit), 'src/%%s.c' %% unit)
               for unit in ['driver', 'lib', 'table']]
    variant.Program(name + '/prog', objects)
'''


def _project(root, flag_sets):
    with open(os.path.join(root, 'SConstruct'), 'w') as f:
        f.write(SCONSTRUCT % flag_sets)
    init(root)
    src = os.path.join(root, 'src')
    os.makedirs(src)
    shutil.copy(os.path.join(PROGRAMS, 'driver.c'), src)
    copy_tree(os.path.join(SOURCES, 'v1'), src)


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('warnings'))
    _project(root, FLAG_SETS)
    scons(root, '-j2')                        # the ordinary build is clean
    scons(root, '-c')
    scons(root, '-j2', 'dsu=1', 'version=v1')
    for name in FLAG_SETS:
        shutil.copy(os.path.join(root, name, 'prog'), os.path.join(root, name, 'prog.v1'))
    copy_tree(os.path.join(SOURCES, 'v2'), os.path.join(root, 'src'))
    scons(root, '-j2', 'dsu=1', 'version=v2')
    scons(root, '-j2', 'patch', 'from=v1', 'to=v2')
    return root


@pytest.mark.parametrize('name', sorted(FLAG_SETS))
def test_patch_under_wextra_applies(project, name, program):
    p = program(os.path.join(project, name, 'prog.v1'))
    assert p.ask('add a') == 'a=1'
    assert p.ask('add a') == 'a=2'
    assert p.ask('calls') == 'calls=3'
    r = dsu('apply', p.pid, os.path.join(project, name, 'prog.v1-to-v2.patch.so'),
            '--timeout', '10')
    assert r.returncode == 0, r.stdout + r.stderr
    assert p.ask('get a') == 'a=2 gets=1 (v2)'
    assert p.ask('add a') == 'a=3 gets=1 (v2)'
    assert p.ask('calls') == 'calls=6'
    assert p.ask('size') == 'size=1'
