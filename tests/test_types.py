"""Data type changes beyond the one-patch cases of test_patches: chains of
patches, transformers written by the developer, rollback, refusals."""

import os
import shutil

import pytest

from conftest import PROGRAMS, dsu, scons

SCONSTRUCT = ("env = Environment(tools=['default', 'dsu'])\n"
              "env.Append(CFLAGS=['-O2', '-Wall'])\n"
              "env.Program('prog', ['driver.c', 'lib.c'])\n")


class Project:
    """An SCons project adopted with `dsu init`, edited version by version."""

    def __init__(self, root):
        self.root = str(root)
        os.makedirs(self.root)
        shutil.copy(os.path.join(PROGRAMS, 'driver.c'), self.root)
        self.write('SConstruct', SCONSTRUCT)
        assert dsu('init', self.root).returncode == 0

    def write(self, name, text):
        path = os.path.join(self.root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)

    def read(self, name):
        with open(os.path.join(self.root, name)) as f:
            return f.read()

    def version(self, name, lib):
        self.write('lib.c', lib)
        scons(self.root, 'dsu=1', 'version=' + name)
        shutil.copy(os.path.join(self.root, 'prog'), os.path.join(self.root, 'prog.' + name))

    def patch(self, frm, to, check=True):
        return scons(self.root, 'patch', 'from=' + frm, 'to=' + to, check=check)

    def path(self, name):
        return os.path.join(self.root, name)

    def apply(self, pid, frm, to):
        return dsu('apply', pid, self.path('prog.%s-to-%s.patch.so' % (frm, to)))


CHAIN_V1 = r'''
#include <stdio.h>
#include <string.h>
struct rec { int id; int qty; };
static struct rec items[4];
void handle(const char *cmd)
{
    if (!strcmp(cmd, "fill"))
        for (int i = 0; i < 4; i++) {
            items[i].id = i + 1;
            items[i].qty = 10 * (i + 1);
        }
    printf("v1 %d/%d\n", items[0].id, items[0].qty);
}
'''

CHAIN_V2 = r'''
#include <stdio.h>
struct rec { int id; int qty; int price; };
static struct rec items[4];
void handle(const char *cmd)
{
    items[0].qty++;
    items[0].price = 3;
    printf("v2 %s %d/%d/%d\n", cmd, items[0].id, items[0].qty, items[0].price);
}
'''

CHAIN_V3 = r'''
#include <stdio.h>
struct rec { long qty; int id; int price; char grade; };
static struct rec items[4];
void handle(const char *cmd)
{
    printf("v3 %s", cmd);
    for (int i = 0; i < 4; i++)
        printf(" %d/%ld/%d/%d", items[i].id, items[i].qty, items[i].price, items[i].grade);
    printf("\n");
}
'''


def test_chain_converts_untouched_values_two_steps_at_once(tmp_path, program):
    p = Project(tmp_path / 'chain')
    p.version('v1', CHAIN_V1)
    p.version('v2', CHAIN_V2)
    p.version('v3', CHAIN_V3)
    p.patch('v1', 'v2')
    out = p.patch('v2', 'v3').stdout
    assert 'changed type       struct rec' in out
    run = program(p.path('prog.v1'))
    assert run.ask('fill') == 'v1 1/10'
    assert p.apply(run.pid, 'v1', 'v2').returncode == 0
    assert run.ask('touch') == 'v2 touch 1/11/3'
    assert p.apply(run.pid, 'v2', 'v3').returncode == 0
    # items[1..3] were never touched under v2: they go v1 -> v2 -> v3 now
    assert run.ask('show') == 'v3 show 1/11/3/0 2/20/0/0 3/30/0/0 4/40/0/0'
    status = dsu('status', run.pid, '--json').stdout
    assert '"steps": 2' in status or '"steps":2' in status


# The struct is defined in the declaration of a variable: the patch
# generator splits the two, and code after it must still check the
# objects it reaches (here on the heap, made under v1) and convert them.
DECLARED_V1 = r'''
#include <stdio.h>
#include <stdlib.h>
struct rec { int id; int qty; } *spare;
static struct rec *items;
void handle(const char *cmd)
{
    (void)cmd;
    if (!items) {
        items = calloc(4, sizeof *items);
        for (int i = 0; i < 4; i++) {
            items[i].id = i + 1;
            items[i].qty = 10 * (i + 1);
        }
    }
    printf("v1 %d/%d\n", items[1].id, items[1].qty);
}
'''

DECLARED_V2 = r'''
#include <stdio.h>
struct rec { long qty; int id; int price; } *spare;
static struct rec *items;
void handle(const char *cmd)
{
    items[1].price += 5;
    printf("v2 %s %d/%ld/%d\n", cmd, items[1].id, items[1].qty, items[1].price);
}
'''


def test_struct_defined_with_a_variable_is_converted_in_later_code(tmp_path, program):
    p = Project(tmp_path / 'declared')
    p.version('v1', DECLARED_V1)
    p.version('v2', DECLARED_V2)
    assert 'changed type       struct rec' in p.patch('v1', 'v2').stdout
    run = program(p.path('prog.v1'))
    assert run.ask('fill') == 'v1 2/20'
    assert p.apply(run.pid, 'v1', 'v2').returncode == 0
    assert run.ask('show') == 'v2 show 2/20/5'
    assert run.ask('again') == 'v2 again 2/20/10'


USER_V1 = r'''
#include <stdio.h>
#include <string.h>
struct user { char name[16]; int visits; };
static struct user users[2];
void handle(const char *cmd)
{
    strcpy(users[0].name, cmd);
    users[0].visits++;
    printf("%s visits=%d\n", users[0].name, users[0].visits);
}
'''

USER_V2 = r'''
#include <stdio.h>
#include <stdlib.h>
struct user { const char *name; long visits; };
static struct user users[2];
void handle(const char *cmd)
{
    users[0].visits++;
    printf("%s visits=%ld (was called %s)\n", cmd, users[0].visits,
           users[0].name ? users[0].name : "?");
}
'''

USER_XF = r'''
#include <string.h>
int dsu_transform_struct_user(const struct dsu_old_user *old, struct user *new)
{
    new->name = strdup(old->name);
    return new->name ? 0 : 1;
}
'''


def test_hand_written_type_transformer(tmp_path, program):
    p = Project(tmp_path / 'users')
    p.version('v1', USER_V1)
    p.version('v2', USER_V2)
    first = p.patch('v1', 'v2', check=False)
    assert first.returncode != 0
    assert 'dsu/prog.v1-to-v2.xf.c' in first.stderr and 'name (char[16] -> const char *)' \
        in first.stderr
    template = p.read('dsu/prog.v1-to-v2.xf.c')
    assert 'int dsu_transform_struct_user(const struct dsu_old_user *old, ' \
        'struct user *new)' in template
    assert 'visits: converted int -> long' in template
    # the template is C that gcc checks: until its #error is gone, no patch
    again = p.patch('v1', 'v2', check=False)
    assert again.returncode != 0 and 'dsu: set the fields listed above' in again.stderr
    p.write('dsu/prog.v1-to-v2.xf.c', USER_XF)
    p.patch('v1', 'v2')
    run = program(p.path('prog.v1'))
    assert run.ask('alice') == 'alice visits=1'
    assert run.ask('alice') == 'alice visits=2'
    assert p.apply(run.pid, 'v1', 'v2').returncode == 0
    assert run.ask('bob') == 'bob visits=3 (was called alice)'
    info = dsu('info', p.path('prog.v1-to-v2.patch.so')).stdout
    assert 'struct user' in info and '{char[16] name; int visits}' in info
    assert 'generated + dsu/prog.v1-to-v2.xf.c' in info


def test_each_program_has_its_own_transformer_file(tmp_path, program):
    """Two programs in one SConstruct, patched at once (-j2): each gets
    the template for its own changes, and each patch includes its own."""
    p = Project(tmp_path / 'two')
    p.write('SConstruct', "env = Environment(tools=['default', 'dsu'])\n"
            "env.Program('users', ['driver.c', 'users.c'])\n"
            "env.Program('totals', ['driver.c', 'totals.c'])\n")
    for version, users, totals in (('v1', USER_V1, TOTAL_V1), ('v2', USER_V2, TOTAL_V2)):
        p.write('users.c', users)
        p.write('totals.c', totals)
        scons(p.root, '-j2', 'dsu=1', 'version=' + version)
        for prog in ('users', 'totals'):
            shutil.copy(p.path(prog), p.path('%s.%s' % (prog, version)))
    first = scons(p.root, '-j2', '-k', 'patch', 'from=v1', 'to=v2', check=False)
    assert first.returncode != 0 and 'dsu/users.v1-to-v2.xf.c' in first.stderr
    users_xf, totals_xf = p.read('dsu/users.v1-to-v2.xf.c'), p.read('dsu/totals.v1-to-v2.xf.c')
    assert 'dsu_transform_struct_user' in users_xf and 'total' not in users_xf
    assert 'dsu_transform_total' in totals_xf and 'struct user' not in totals_xf
    p.write('dsu/users.v1-to-v2.xf.c', USER_XF)
    p.write('dsu/totals.v1-to-v2.xf.c', 'int dsu_transform_total(const dsu_old_total_t '
            '*old, dsu_new_total_t *new)\n{ *new = *old * 100; return 0; }\n')
    scons(p.root, '-j2', 'patch', 'from=v1', 'to=v2')
    users, totals = program(p.path('users.v1')), program(p.path('totals.v1'))
    assert users.ask('alice') == 'alice visits=1'
    assert totals.ask('a') == 'a total=5'
    for run, prog in ((users, 'users'), (totals, 'totals')):
        r = dsu('apply', run.pid, p.path(prog + '.v1-to-v2.patch.so'))
        assert r.returncode == 0, r.stderr
    assert users.ask('bob') == 'bob visits=2 (was called alice)'
    assert totals.ask('b') == 'b total=507 (v2)'


TOTAL_V1 = r'''
#include <stdio.h>
static int total;
void handle(const char *cmd) { total += 5; printf("%s total=%d\n", cmd, total); }
'''

TOTAL_V2 = r'''
#include <stdio.h>
static long total;
void handle(const char *cmd) { total += 7; printf("%s total=%ld (v2)\n", cmd, total); }
'''


def test_failing_transformer_rolls_the_update_back(tmp_path, program):
    p = Project(tmp_path / 'total')
    p.version('v1', TOTAL_V1)
    p.version('v2', TOTAL_V2)
    p.patch('v1', 'v2')
    assert '#if 0' in p.read('dsu/prog.v1-to-v2.xf.c')    # optional: nothing to write
    p.write('dsu/prog.v1-to-v2.xf.c', 'int dsu_transform_total(const dsu_old_total_t *old, '
            'dsu_new_total_t *new)\n{ return *old > 0 ? 42 : 0; }\n')
    p.patch('v1', 'v2')
    run = program(p.path('prog.v1'))
    assert run.ask('a') == 'a total=5'
    r = p.apply(run.pid, 'v1', 'v2')
    assert r.returncode == 3
    assert 'state transformer for' in r.stderr and 'returned 42' in r.stderr
    assert "global 'total' (lib.c:" in r.stderr and '__dsu' not in r.stderr
    assert run.ask('b') == 'b total=10'                 # old code, old state
    assert '"version": "v1"' in dsu('status', run.pid, '--json').stdout.replace('":"', '": "')
    p.write('dsu/prog.v1-to-v2.xf.c', 'int dsu_transform_total(const dsu_old_total_t *old, '
            'dsu_new_total_t *new)\n{ *new = *old * 100; return 0; }\n')
    p.patch('v1', 'v2')
    assert p.apply(run.pid, 'v1', 'v2').returncode == 0
    assert run.ask('c') == 'c total=1007 (v2)'


def test_struct_that_outgrows_its_room_is_refused(tmp_path):
    p = Project(tmp_path / 'grow')
    small = '#include <stdio.h>\nstruct box { int a; };\nstatic struct box b;\n' \
            'void handle(const char *c) { b.a++; printf("%s %d\\n", c, b.a); }\n'
    p.version('v1', small)
    p.version('v2', small.replace('int a; }', 'int a; char big[64]; int end; }'))
    r = p.patch('v1', 'v2', check=False)
    assert r.returncode != 0
    assert 'lib.c:2' in r.stderr
    assert 'struct box does not fit in the room its objects have in version v1' in r.stderr
    assert 'bytes' in r.stderr


# v1 wraps struct box; a union or a cast in v2 keeps it fixed there, which
# the running objects (with room and a tag) cannot follow
FIXED_IN_V2 = 'struct box has room to grow in version v1 but keeps its ordinary layout ' \
    'in version v2 ('


@pytest.mark.parametrize('v2_extra, message, line', [
    ('union either { struct box b; int raw[4]; };\n', FIXED_IN_V2 +
     'it is held by value in union either (lib.c:3), whose other members read its bytes)', 3),
    ('int peek(char *buf) { return ((struct box *)buf)->a; }\n', FIXED_IN_V2 +
     'memory that is not a struct box is used as one (lib.c:3))', 3),
    ('int *kept;\nvoid keep(struct box *p) { kept = &p->a; }\n',
     "the address of its field 'a' is kept here", 4),
])
def test_uses_that_in_place_conversion_cannot_honour(tmp_path, v2_extra, message, line):
    p = Project(tmp_path / 'uses')
    base = '#include <stdio.h>\nstruct box { int a; };\n%sstatic struct box b;\n' \
           'void handle(const char *c) { b.a++; printf("%%s %%d\\n", c, b.a); }\n'
    p.version('v1', base % '')
    p.version('v2', (base % v2_extra).replace('int a; }', 'int a; int b; }'))
    r = p.patch('v1', 'v2', check=False)
    assert r.returncode != 0
    assert message in r.stderr
    assert 'lib.c:%d' % line in r.stderr


def test_cast_to_a_struct_defined_in_a_pointer_typedef_is_refused(tmp_path):
    p = Project(tmp_path / 'typedef')
    base = '#include <stdio.h>\ntypedef struct box { int a; } *box_p;\n%sstatic struct box b;\n' \
           'void handle(const char *c) { b.a++; printf("%%s %%d\\n", c, b.a); }\n'
    p.version('v1', base % '')
    p.version('v2', (base % 'int peek(char *buf) { return ((box_p)buf)->a; }\n').replace(
        'int a; }', 'int a; int b; }'))
    r = p.patch('v1', 'v2', check=False)
    assert r.returncode != 0
    assert FIXED_IN_V2 + 'memory that is not a struct box is used as one (lib.c:3))' \
        in r.stderr
