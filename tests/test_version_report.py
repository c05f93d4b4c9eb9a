"""`dsu report VERSION`: what a recorded version lets a patch change, and
the one-line summary that ends `scons dsu=1`."""

import json
import re

from conftest import dsu, scons
from test_types import Project

LIB = r'''
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dsu.h>
struct conn { int fd; long served; };
struct msg { int len; char data[]; };
struct wire { int kind; int size; } DSU_FIXED;
static struct conn c0;
static void
wait_here(struct conn *c)
{
    c->served++;
    DSU_update();
    c->served++;
}
void handle(const char *cmd)
{
    struct msg *m = malloc(sizeof(struct msg) + 8);
    struct wire w = { 1, 2 };
    m->len = (int)strlen(cmd);
    wait_here(&c0);
    printf("%d %ld %d\n", m->len, c0.served, w.kind + w.size);
    free(m);
}
'''


def test_report_lists_types_functions_and_points(tmp_path):
    p = Project(tmp_path / 'p')
    p.write('lib.c', LIB)
    out = scons(p.root, 'dsu=1', 'version=v1').stdout
    # the build ends with one line that counts what the report lists
    assert re.search(r'^dsu: prog v1: 1 struct type updateable, 2 fixed; '
                     r'\d+ functions replaceable; see `dsu report v1`$', out, re.M), out

    r = dsu('report', 'v1', '--project', p.root)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert re.search(r'^  updateable  struct conn +lib\.c:6$', text, re.M), text
    assert re.search(r'^  fixed       struct msg +lib\.c:7\n +.*variable-length member', text, re.M), text
    assert re.search(r'^  fixed       struct wire +lib\.c:8\n +it is marked DSU_FIXED',
                     text, re.M), text
    for name, line in (('wait_here', 11), ('handle', 17)):
        assert re.search(r'^  replaceable %s +lib\.c:%d$' % (name, line), text, re.M), text
    # the point in wait_here: struct conn is used by code still running
    # after it (line 15; the use on line 13, before the point, cannot run)
    assert re.search(r'^  lib\.c:14 in wait_here: a patch may not change struct conn '
                     r'here', text, re.M), text
    assert re.search(r'^      struct conn in wait_here \(lib\.c:15\)$', text, re.M), text
    assert re.search(r'^  driver\.c:\d+ in main: a patch may change any updateable type',
                     text, re.M), text
    assert '__dsu' not in text

    brief = dsu('report', 'v1', '--brief', '--project', p.root).stdout
    assert 'replaceable wait_here' not in brief and 'struct wire' in brief

    data = json.loads(dsu('report', 'v1', '--json', '--project', p.root).stdout)
    assert data['format'] == 1 and data['command'] == 'report'
    [prog] = data['programs']
    types = {t['name']: t for t in prog['types']}
    assert types['struct conn'] == {'name': 'struct conn', 'where': 'lib.c:6',
                                    'updateable': True, 'reason': None}
    assert types['struct wire']['reason'] == 'it is marked DSU_FIXED'
    points = {p['function']: p for p in prog['points']}
    assert points['wait_here']['restricted'] == ['struct conn']


def test_default_version_is_the_last_recorded_and_unknown_names_fail(tmp_path):
    p = Project(tmp_path / 'p')
    p.write('lib.c', LIB)
    scons(p.root, 'dsu=1', 'version=v1')
    p.write('lib.c', LIB.replace('long served;', 'long served; int extra;'))
    scons(p.root, 'dsu=1', 'version=v2')
    r = dsu('report', '--project', p.root)
    assert r.returncode == 0 and r.stdout.startswith('prog, version v2 '), r.stdout

    r = dsu('report', 'v7', '--project', p.root)
    assert r.returncode == 2
    assert "no version 'v7' is recorded" in r.stderr and 'known versions: v1, v2' in r.stderr
    r = dsu('report', 'v1', '--program', 'other', '--project', p.root)
    assert r.returncode == 2 and "no version 'v1' of other" in r.stderr


def test_silent_build_prints_no_summary(tmp_path):
    p = Project(tmp_path / 'p')
    p.write('lib.c', LIB)
    out = scons(p.root, '-s', 'dsu=1', 'version=v1').stdout
    assert 'see `dsu report' not in out


def test_patch_says_when_a_changed_function_runs_at_every_update_point(tmp_path):
    """main and the function holding the main loop are running at every
    update point: a change to them cannot reach the running call, and
    scons patch says so plainly instead of listing it as if it would."""
    p = Project(tmp_path / 'p')
    driver = p.read('driver.c')
    p.write('lib.c', LIB)
    scons(p.root, 'dsu=1', 'version=v1')
    p.write('driver.c', driver.replace('printf("ready\\n");', 'printf("ready v2\\n");'))
    p.write('lib.c', LIB.replace('c->served++;\n    DSU_update();',
                                 'c->served += 2;\n    DSU_update();'))
    scons(p.root, 'dsu=1', 'version=v2')
    out = p.patch('v1', 'v2').stdout
    assert re.search(r'^  changed function   main \(driver\.c:11\)', out, re.M), out
    assert re.search(r'^  note: main \(driver\.c:11\) is running at every update point of '
                     r'v1, so the running call keeps its old code and main is never called '
                     r'again', out, re.M), out
    # wait_here holds an update point of its own, but not every one: no note
    assert 'note: wait_here' not in out


def test_no_note_for_main_that_only_moved(tmp_path):
    """A main whose text differs only in an expanded __LINE__ changes
    nothing that could be missed: no note."""
    p = Project(tmp_path / 'p')
    driver = p.read('driver.c')
    p.write('driver.c', driver.replace('int main(void)\n{\n',
                                       'int main(void)\n{\n    (void)__LINE__;\n'))
    p.write('lib.c', LIB)
    scons(p.root, 'dsu=1', 'version=v1')
    p.write('driver.c', driver.replace('int main(void)\n{\n',
                                       '\nint main(void)\n{\n    (void)__LINE__;\n'))
    scons(p.root, 'dsu=1', 'version=v2')
    out = p.patch('v1', 'v2').stdout
    assert re.search(r'^  changed function   main .*only an expanded __LINE__', out, re.M), out
    assert 'note: main' not in out, out


UTF8_LIB = '''
#include <stdio.h>
static int caf\u00e9 = 2;
static int dollar$count = 3;
static int add(int x) { int gr\u00fc\u00dfe = x; return gr\u00fc\u00dfe + caf\u00e9 + dollar$count; }
void handle(const char *cmd) { printf("%s %d\\n", cmd, add(1)); }
'''


def test_utf8_identifiers_are_kept_as_written_and_named(tmp_path):
    """gcc -E writes UTF-8 identifiers as universal character names
    (caf\\U000000e9): the code that declares or uses one is compiled as
    written, the reason names the identifier as the user wrote it, and the
    program behaves as written; `$` in names is fine."""
    p = Project(tmp_path / 'p')
    p.write('lib.c', UTF8_LIB)
    scons(p.root, 'dsu=1', 'version=v1')
    data = json.loads(dsu('report', 'v1', '--json', '--project', p.root).stdout)
    functions = {f['name']: f for f in data['programs'][0]['functions']}
    reasons = ' '.join(f['reason'] or '' for f in functions.values())
    assert "the identifier 'caf\u00e9' has characters outside ASCII" in reasons, functions
    assert 'Illegal character' not in reasons
    assert functions['handle']['replaceable'] and not functions['add']['replaceable']
    import subprocess
    out = subprocess.run([p.path('prog')], input='hi\n', capture_output=True, text=True,
                         timeout=10).stdout
    assert out.splitlines()[1] == 'hi 6', out


def test_pragma_among_struct_members(tmp_path):
    """`#pragma` lines inside a struct's members stay where they were, and
    the struct is wrapped as any other (the pass crashed on them)."""
    p = Project(tmp_path / 'p')
    p.write('lib.c', '''
#include <stdio.h>
struct s {
    int a;
#pragma GCC diagnostic push
    int b;
#pragma GCC diagnostic pop
};
static struct s v = { 1, 2 };
void handle(const char *cmd) { printf("%s %d\\n", cmd, v.a + v.b); }
''')
    scons(p.root, 'dsu=1', 'version=v1')
    data = json.loads(dsu('report', 'v1', '--json', '--project', p.root).stdout)
    assert [t['updateable'] for t in data['programs'][0]['types']] == [True]
    import subprocess
    out = subprocess.run([p.path('prog')], input='x\n', capture_output=True, text=True,
                         timeout=10).stdout
    assert out.splitlines()[1] == 'x 3', out
