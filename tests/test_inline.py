"""Inline functions, whose definitions may or may not give a unit an
external symbol: C99 `inline` with one `extern` declaration, gnu89's
`extern inline` (-std=gnu89), `__attribute__((gnu_inline))` in C99
mode, `static inline`, all in headers included by several units.

The updateable build must link and behave as the ordinary one, define
the same external symbols in each object, and keep patchable the
functions that have an external definition; a patch that changes an
inline function in a header reaches every caller, inlined or not.
"""

import os
import shutil
import subprocess

import pytest

from conftest import PROGRAMS, ROOT, copy_tree, dsu, scons
from dsu_tool.adopt import init
from dsu_tool.codegen.unit import RUNTIME_INCLUDE

SOURCES = os.path.join(ROOT, 'tests', 'inline')
# build -> (its sources in tests/inline/, its flags).  gnu89 inline
# semantics come from -std=gnu89 or -fgnu89-inline; `noextern` links only
# where gcc inlines every call, as in the ordinary build.
BUILDS = {'c99-O0': ('c99', ['-O0']), 'c99-O2': ('c99', ['-O2']),
          'gnu89-O0': ('gnu89', ['-std=gnu89', '-O0']),
          'gnu89-O2': ('gnu89', ['-std=gnu89', '-O2']),
          'fgnu89-O0': ('gnu89', ['-fgnu89-inline', '-O0']),
          'noextern-O2': ('noextern', ['-O2'])}
CASES = sorted({case for case, _ in BUILDS.values()})

SCONSTRUCT = '''
env = Environment(tools=['default', 'dsu'])
for name, (case, flags) in sorted(%r.items()):
    variant = env.Clone(CFLAGS=flags + ['-Wall', '-Werror'])
    objects = [variant.Object('%%s/%%s.o' %% (name, os.path.basename(c)[:-2]), c)
               for c in sorted(Glob(case + '/*.c', strings=True))]
    variant.Program(name + '/prog', objects)
''' % BUILDS


def _install(root, version):
    for case in CASES:
        copy_tree(os.path.join(SOURCES, case, version), os.path.join(root, case))
        shutil.copy(os.path.join(PROGRAMS, 'driver.c'), os.path.join(root, case))


def _plain_build(root, name, out):
    """The ordinary build NAME, with gcc alone, into directory OUT."""
    case, flags = BUILDS[name]
    os.makedirs(out)
    src = os.path.join(root, case)
    objects = []
    for c in sorted(f for f in os.listdir(src) if f.endswith('.c')):
        objects.append(os.path.join(out, c[:-2] + '.o'))
        subprocess.run(['gcc'] + flags + ['-Wall', '-Werror', '-I', RUNTIME_INCLUDE, '-c',
                                          '-o', objects[-1], os.path.join(src, c)],
                       check=True)
    subprocess.run(['gcc', '-o', os.path.join(out, 'prog')] + objects, check=True)


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('inline'))
    with open(os.path.join(root, 'SConstruct'), 'w') as f:
        f.write('import os\n' + SCONSTRUCT)
    init(root)
    _install(root, 'v1')
    scons(root, '-j2', 'dsu=1', 'version=v1')
    for name in BUILDS:
        d = os.path.join(root, name)
        shutil.copy(os.path.join(d, 'prog'), os.path.join(d, 'prog.v1'))
        _plain_build(root, name, os.path.join(d, 'plain'))
    _install(root, 'v2')
    scons(root, '-j2', 'dsu=1', 'version=v2')
    out = scons(root, '-j2', 'patch', 'from=v1', 'to=v2').stdout
    return root, out


def defined_functions(obj):
    """The external function symbols OBJ defines, but dsu's own: its
    entry points and the mangled names it gives static functions."""
    out = subprocess.run(['nm', '--defined-only', obj], capture_output=True, text=True,
                         check=True).stdout
    return sorted(line.split()[2] for line in out.splitlines()
                  if line.split()[1] in 'TW' and '__dsu' not in line.split()[2])


ANSWERS = {
    'c99': ('x twice=2 a=3 b=30 ptr=2 same=1 half=5 calls=1',
            'y twice=6 a=7 b=70 ptr=6 same=1 half=10 calls=2'),
    'gnu89': ('x sq=1 cube=1 ptr=1 calls=1', 'y sq=5 cube=10 ptr=5 calls=2'),
    'noextern': ('x lucky=8 other=16 calls=1', 'y lucky=72 other=144 calls=2'),
}


@pytest.mark.parametrize('name', sorted(BUILDS))
def test_inline_functions_build_behave_and_update(project, program, name):
    root, out = project
    d = os.path.join(root, name)
    for obj in os.listdir(os.path.join(d, 'plain')):
        if obj.endswith('.o'):
            assert defined_functions(os.path.join(d, obj)) == \
                defined_functions(os.path.join(d, 'plain', obj)), obj
    before, after = ANSWERS[BUILDS[name][0]]
    plain = program(os.path.join(d, 'plain', 'prog'))
    assert plain.ask('x') == before
    p = program(os.path.join(d, 'prog.v1'))
    assert p.ask('x') == before
    r = dsu('apply', p.pid, os.path.join(d, 'prog.v1-to-v2.patch.so'), '--timeout', '10')
    assert r.returncode == 0, r.stdout + r.stderr
    assert p.ask('y') == after
