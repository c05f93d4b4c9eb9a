"""Functions the pass cannot rewrite are compiled as written
(frontend.aswritten): the unit builds, behaves as the ordinary build
does, its other functions take live patches, and a patch that would
change such a function is refused with the recorded reason.

tests/aswritten/v1 holds one function per construct (a nested function,
labels as values, a case range, typeof, _Generic, __auto_type) and a
file-scope asm statement, beside ordinary functions; v2 changes an
ordinary function and calls the as-written ones from changed code; v3
changes an as-written one, v4 the asm statement, v5 the type of a static
an as-written one uses, v6 uses a global declared as written.
"""

import glob
import json
import os
import shutil

from conftest import PROGRAMS, copy_tree, dsu, scons
from dsu_tool.adopt import init

CASE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'aswritten')
SCONSTRUCT = '''
env = Environment(tools=['default', 'dsu'])
env.Append(CFLAGS=['-O2', '-Wall', '-Werror'])
env.Program('prog', Glob('*.c'))
'''
AS_WRITTEN = {'sum_to': 'nested function', 'parity': 'labels as values',
              'digits': 'case ranges', 'biggest': 'typeof', 'kind': '_Generic',
              'doubled': '__auto_type'}
QUESTIONS = ['a3', 'b12', 'c7']


def _install(root, version):
    for name in glob.glob(os.path.join(root, '*.c')):
        os.remove(name)
    shutil.copy(os.path.join(PROGRAMS, 'driver.c'), root)
    copy_tree(os.path.join(CASE, version), root)


def _answers(program, path, questions):
    p = program(path)
    return p, [p.ask(q) for q in questions]


def test_as_written_functions_build_run_and_update(tmp_path, program):
    root = str(tmp_path)
    with open(os.path.join(root, 'SConstruct'), 'w') as f:
        f.write(SCONSTRUCT)
    init(root)
    _install(root, 'v1')
    scons(root)                                    # the ordinary build
    _, plain = _answers(program, os.path.join(root, 'prog'), QUESTIONS)
    assert plain[0] == ('a3 sum=6 odd digits=1 max=5 int doubled=6 asm=42 scaled=30 '
                        'calls=1 total=6')

    scons(root, 'dsu=1', 'version=v1')
    shutil.copy(os.path.join(root, 'prog'), os.path.join(root, 'prog.v1'))
    _, updateable = _answers(program, os.path.join(root, 'prog.v1'), QUESTIONS)
    assert updateable == plain

    manifest, = [json.load(open(m)) for m in glob.glob(
        os.path.join(root, '.dsu', 'gen', '**', 'lib.o.dsu.json'), recursive=True)]
    recorded = {r['name']: r for r in manifest['as_written']}
    assert set(recorded) == set(AS_WRITTEN) | {'chosen'}
    for name, construct in AS_WRITTEN.items():
        assert construct in recorded[name]['reason'], recorded[name]
        assert recorded[name]['file'] == 'lib.c'
    assert recorded['digits']['line'] == 41          # the first `case a ... b:`
    assert recorded['chosen']['kind'] == 'declaration'
    patchable = {f['name'] for f in manifest['functions']}
    assert {'handle', 'scaled'} <= patchable and not patchable & set(AS_WRITTEN)
    # doubled() names the tally: the struct keeps its ordinary layout (the
    # patch's code, which uses it too, must agree)
    assert {r['name'] for r in manifest['require_fixed']} == {'struct tally'}

    # v2 changes handle() and scaled(); the changed handle() calls the
    # as-written statics from patch code; the tally survives
    _install(root, 'v2')
    scons(root, 'dsu=1', 'version=v2')
    scons(root, 'patch', 'from=v1', 'to=v2')
    p, before = _answers(program, os.path.join(root, 'prog.v1'), QUESTIONS[:1])
    assert before == plain[:1]
    r = dsu('apply', p.pid, os.path.join(root, 'prog.v1-to-v2.patch.so'),
            '--timeout', '10')
    assert r.returncode == 0, r.stdout + r.stderr
    assert p.ask('b12') == ('v2 b12 sum=78 even digits=2 max=12 int doubled=24 asm=42 '
                            'scaled=1200 calls=2 total=84')

    # v3 changes digits(), compiled as written: refused, with the reason
    _install(root, 'v3')
    scons(root, 'dsu=1', 'version=v3')
    proc = scons(root, 'patch', 'from=v2', 'to=v3', check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "lib.c:38: error: 'digits' cannot be replaced by a patch" in out, out
    assert 'case ranges' in out and '(lib.c:41)' in out, out

    # v4 changes the file-scope asm statement: refused too
    _install(root, 'v4')
    scons(root, 'dsu=1', 'version=v4')
    proc = scons(root, 'patch', 'from=v2', 'to=v4', check=False)
    assert proc.returncode != 0
    assert 'lib.c:57: error: a top-level asm statement kept as written changed' in proc.stdout + proc.stderr

    # v5 changes the type of a static that sum_to(), as written, uses: it
    # would have to be recompiled against the new storage: refused
    _install(root, 'v5')
    scons(root, 'dsu=1', 'version=v5')
    proc = scons(root, 'patch', 'from=v2', 'to=v5', check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "lib.c:17: error: 'sum_to' cannot be replaced by a patch (the patch would " \
        "recompile it" in out, out
    assert 'nested function' in out

    # v6's handle() uses a global whose declaration is kept as written: it
    # is not in the program's table, so the patch cannot bind to it
    _install(root, 'v6')
    scons(root, 'dsu=1', 'version=v6')
    proc = scons(root, 'patch', 'from=v2', 'to=v6', check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "the patch's code of 'handle' uses 'chosen', declared by a declaration " \
        "kept as written" in out and '(lib.c:14)' in out, out
