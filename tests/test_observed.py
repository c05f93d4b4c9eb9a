"""C written the way servers are, with no annotations: the program's own
allocation wrappers (`xmalloc(sizeof *p)`), a struct ending in a
fixed-size buffer, structs written to a file and read back, a layout one
unit observes with offsetof while another uses the struct.  The
updateable build builds, behaves as the ordinary one and writes the same
bytes; what it cannot make updateable is kept fixed and named when a
patch needs it (tests/servers/ledger)."""

import filecmp
import json
import os
import shutil

from conftest import ROOT, copy_tree, dsu, scons
from dsu_tool.adopt import init

LEDGER = os.path.join(ROOT, 'tests', 'servers', 'ledger')
SCONSTRUCT = '''
env = Environment(tools=['default', 'dsu'])
env.Append(CFLAGS=['-O2', '-Wall', '-Werror'])
# store.c, which uses struct stats, compiles before layout.c observes its layout
env.Program('ledger', ['main.c', 'store.c', 'save.c', 'layout.c', 'alloc.c'])
'''
SESSION = ['add a', 'add b', 'add a', 'note hello', 'note world', 'layout', 'get b']


def _project(tmp_path):
    root = str(tmp_path / 'ledger')
    shutil.copytree(os.path.join(LEDGER, 'v1'), root)
    with open(os.path.join(root, 'SConstruct'), 'w') as f:
        f.write(SCONSTRUCT)
    init(root)
    return root


def _talk(program, path, data):
    p = program(path)
    answers = [p.ask(line) for line in SESSION]
    answers.append(p.ask('save ' + data))
    answers.append(p.ask('load ' + data))
    return p, answers


def _line_of(path, text):
    with open(path) as f:
        return next(i for i, line in enumerate(f, 1) if text in line)


def test_server_shaped_program_builds_unannotated_and_updates_live(tmp_path, program):
    root = _project(tmp_path)
    scons(root)                                         # the ordinary build
    shutil.copy(os.path.join(root, 'ledger'), os.path.join(root, 'ledger.plain'))
    plain, expected = _talk(program, os.path.join(root, 'ledger.plain'),
                            os.path.join(root, 'plain.dat'))
    plain.close()
    assert expected[:3] == ['a count=1', 'b count=1', 'a count=2']
    assert expected[-1] == 'loaded 2 2: 2/b=1 1/a=2'

    scons(root, '-j2', 'dsu=1', 'version=v1')
    again = scons(root, '-j2', 'dsu=1', 'version=v1').stdout  # the units agreed at once
    assert 'up to date' in again and 'dsu_tool.cc' not in again, again
    shutil.copy(os.path.join(root, 'ledger'), os.path.join(root, 'ledger.v1'))
    p, answers = _talk(program, os.path.join(root, 'ledger.v1'),
                       os.path.join(root, 'dsu.dat'))
    assert answers == expected
    assert filecmp.cmp(os.path.join(root, 'plain.dat'), os.path.join(root, 'dsu.dat'),
                       shallow=False)

    # What the program shows or writes is kept fixed, with the reason;
    # what it only allocates is wrapped, in every unit alike.
    with open(os.path.join(root, '.dsu', 'fixed.json')) as f:
        fixed = json.load(f)
    save_c = os.path.join(root, 'save.c')
    assert fixed['struct record@ledger.h']['reason'] == \
        'its bytes leave the program (fwrite at save.c:%d)' % _line_of(save_c, '&r, sizeof')
    assert fixed['struct header@ledger.h']['reason'] == \
        'its bytes leave the program (fwrite at save.c:%d)' % _line_of(save_c, '&h, sizeof')
    assert fixed['struct stats@ledger.h']['reason'] == \
        'its layout is observed (offsetof at layout.c:10)'
    assert not {'struct entry@ledger.h', 'struct session@ledger.h'} & set(fixed)
    for unit in ('main', 'store', 'save', 'layout'):
        with open(os.path.join(root, '.dsu', 'gen', unit + '.o.dsu.json')) as f:
            wrapped = {s['name']: s['wrapped'] for s in json.load(f)['structs']}
        assert wrapped == {'struct entry': True, 'struct session': True,
                           'struct record': False, 'struct header': False,
                           'struct stats': False}, unit

    # v2 adds a field to the struct xmalloc allocates and one after the
    # trailing buffer of the other; the running records keep their values
    copy_tree(os.path.join(LEDGER, 'v2'), root)
    scons(root, 'dsu=1', 'version=v2')
    scons(root, 'patch', 'from=v1', 'to=v2')
    r = dsu('apply', p.pid, os.path.join(root, 'ledger.v1-to-v2.patch.so'))
    assert r.returncode == 0, r.stderr
    assert p.ask('add a') == 'a count=3 first=0'
    assert p.ask('add c') == 'c count=1 first=1'
    assert p.ask('get b') == 'b count=1 first=0'
    assert p.ask('note again') == 'session 7 lines=3 buf=again chars=5'
    assert p.ask('layout') == 'misses at 8: hits=4 misses=3'
    assert p.ask('save ' + os.path.join(root, 'v2.dat')) == 'saved 0'
    assert p.ask('load ' + os.path.join(root, 'v2.dat')) == 'loaded 3 3: 3/c=1 2/b=1 1/a=3'


def test_change_to_a_struct_kept_fixed_is_refused_with_its_reason(tmp_path):
    root = _project(tmp_path)
    scons(root, 'dsu=1', 'version=v1')
    header = os.path.join(root, 'ledger.h')
    with open(header) as f:
        text = f.read()
    with open(header, 'w') as f:
        f.write(text.replace('    char key[32];\n};', '    char key[32];\n    int flags;\n};'))
    scons(root, 'dsu=1', 'version=v3')
    r = scons(root, 'patch', 'from=v1', 'to=v3', check=False)
    assert r.returncode != 0
    assert 'ledger.h:%d' % _line_of(header, 'struct record {') in r.stderr
    assert 'struct record changed, but its layout cannot change in a patch: its bytes ' \
        'leave the program (fwrite at save.c:%d)' % _line_of(
            os.path.join(root, 'save.c'), '&r, sizeof') in r.stderr


LIBRARY_SCONSTRUCT = '''
env = Environment(tools=['default', 'dsu'])
env.Append(CFLAGS=['-O2', '-Wall', '-Werror'])
counts = env.Library('counts', ['lib/counts.c'])
env.Program('pairs', ['main.c'], LIBS=[counts])
'''
PAIR_H = 'struct pair { long a, b; };\nextern struct pair pairs[3];\nvoid bump(int i);\n'
COUNTS_C = ('#include "../pair.h"\nstruct pair pairs[3];\n'
            'void bump(int i) { pairs[i].b += i; }\n')
MAIN_C = '''#include <stdio.h>
#include <stddef.h>
#include "pair.h"
int main(void)
{
    bump(1);
    bump(2);
    printf("%%ld %%ld %%s\\n", pairs[1].b, pairs[2].b, %s);
    return 0;
}
'''


def test_unit_of_a_static_library_compiled_again_is_archived_again(tmp_path):
    """v2's main.c observes struct pair's layout; the library's unit,
    up to date for SCons, still wraps it: it is compiled again before
    the link, and the archive is made from the new object, so both agree
    on the stride of pairs[]."""
    import subprocess
    root = tmp_path / 'pairs'
    (root / 'lib').mkdir(parents=True)
    (root / 'SConstruct').write_text(LIBRARY_SCONSTRUCT)
    (root / 'pair.h').write_text(PAIR_H)
    (root / 'lib' / 'counts.c').write_text(COUNTS_C)
    (root / 'main.c').write_text(MAIN_C % '"v1"')
    init(str(root))
    scons(str(root), 'dsu=1', 'version=v1')
    run = lambda: subprocess.run([str(root / 'pairs')], capture_output=True, text=True,
                                 check=True).stdout
    assert run() == '1 2 v1\n'
    (root / 'main.c').write_text(MAIN_C % 'offsetof(struct pair, b) == 8 ? "v2" : "?"')
    # in parallel, SCons would look at the archive while main.c compiles
    out = scons(str(root), '-j2', 'dsu=1', 'version=v2').stdout
    assert 'lib/counts.c' not in out          # SCons itself finds it up to date
    assert run() == '1 2 v2\n'
    with open(str(root / '.dsu' / 'gen' / 'lib' / 'counts.o.dsu.json')) as f:
        assert [s['wrapped'] for s in json.load(f)['structs']] == [False]
    again = scons(str(root), 'dsu=1', 'version=v2').stdout
    assert 'up to date' in again, again
