"""Patches to tables and other data: a dispatch table that gains a
command, `sizeof table / sizeof table[0]` in patched code, a global array
whose initialiser grows, a struct type the patch introduces.  Each case
is a live program (tests/programs/driver.c) updated v1 -> v2 and then
back v2 -> v1 (or on to v3) in the same process, its state checked at
every step."""

import shutil

from conftest import dsu
from test_types import Project


def step(run, project, frm, to, answers):
    r = project.apply(run.pid, frm, to)
    assert r.returncode == 0, r.stdout + r.stderr
    for question, answer in answers:
        assert run.ask(question) == answer, question


def start(project, version, program, answers):
    run = program(project.path('prog.' + version))
    for question, answer in answers:
        assert run.ask(question) == answer, question
    return run


# -- a dispatch table that gains a command ------------------------------------

DISPATCH_V1 = r'''
#include <stdio.h>
#include <string.h>
struct command { const char *name; int (*run)(int); int *counter; const char *help; };
static int opens, closes, totals[3];
static int cmd_open(int x) { return opens += x; }
static int cmd_close(int x) { return closes += x; }
static const struct command commands[] = {
    {"open", cmd_open, &opens, "opens"},
    {"close", cmd_close, &closes, "closes"},
};
void handle(const char *cmd)
{
    static int (*const local[])(int) = { cmd_open };
    if (!strcmp(cmd, "local")) {
        printf("local %zu %d\n", sizeof local / sizeof *local, local[0](0));
        return;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, cmd)) {
            int r = commands[i].run(1);
            printf("%s=%d counter=%d help=%s\n", cmd, r, *commands[i].counter,
                   commands[i].help);
            return;
        }
    printf("%s unknown\n", cmd);
}
'''

# v2: two commands more, one with a new function and a counter that is an
# element of a new array, one reusing a running function; a table of plain
# function pointers and one of pointers to the running program's variables
DISPATCH_V2 = r'''
#include <stdio.h>
#include <string.h>
struct command { const char *name; int (*run)(int); int *counter; const char *help; };
static int opens, closes, totals[3];
static int stats[4];
static int cmd_open(int x) { return opens += x; }
static int cmd_close(int x) { return closes += x; }
static int cmd_stat(int x) { stats[1] += x; return stats[1] * 100 + opens; }
static const struct command commands[] = {
    {"open", cmd_open, &opens, "opens"},
    {"close", cmd_close, &closes, "closes"},
    {"stat", cmd_stat, &stats[1], "stats" + 1},
    {.name = "reopen", .run = cmd_open, .counter = &opens, .help = "again"},
};
static int (*const hooks[])(int) = { cmd_close, cmd_stat };
static int *const counters[] = { &opens, &closes, stats + 1, &totals[2] };
void handle(const char *cmd)
{
    static int (*const local[])(int) = { cmd_open, cmd_stat, cmd_close };
    if (!strcmp(cmd, "local")) {
        printf("local %zu %d %d %d\n", sizeof local / sizeof *local, local[0](0),
               local[1](0), local[2](0));
        return;
    }
    if (!strcmp(cmd, "hooks")) {
        totals[2] = 9;
        printf("hooks %d %d counters %d %d %d %d\n", hooks[0](0), hooks[1](0),
               *counters[0], *counters[1], *counters[2], *counters[3]);
        return;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, cmd)) {
            int r = commands[i].run(1);
            printf("%s=%d counter=%d help=%s\n", cmd, r, *commands[i].counter,
                   commands[i].help);
            return;
        }
    printf("%s unknown\n", cmd);
}
'''


def test_dispatch_table_gains_commands_and_loses_them_again(tmp_path, program):
    p = Project(tmp_path / 'dispatch')
    p.version('v1', DISPATCH_V1)
    p.version('v2', DISPATCH_V2)
    out = p.patch('v1', 'v2').stdout
    assert 'changed constant   commands' in out
    assert 'changed function   handle' in out
    assert '__dsu' not in out
    p.patch('v2', 'v1')
    run = start(p, 'v1', program, [('open', 'open=1 counter=1 help=opens'),
                                  ('stat', 'stat unknown'), ('local', 'local 1 1')])
    step(run, p, 'v1', 'v2', [
        ('open', 'open=2 counter=2 help=opens'),          # the running count
        ('stat', 'stat=102 counter=1 help=tats'),
        ('reopen', 'reopen=3 counter=3 help=again'),
        ('close', 'close=1 counter=1 help=closes'),
        ('hooks', 'hooks 1 103 counters 3 1 1 9'),
        ('local', 'local 3 3 103 1')])
    step(run, p, 'v2', 'v1', [
        ('open', 'open=4 counter=4 help=opens'), ('local', 'local 1 4'),
        ('stat', 'stat unknown'), ('hooks', 'hooks unknown'),
        ('close', 'close=2 counter=2 help=closes')])
    status = dsu('status', run.pid)
    assert 'v1' in status.stdout


# -- sizeof of a table in patched code ----------------------------------------

SIZES_V1 = r'''
#include <stdio.h>
enum key { K_GET, K_SET, K_QUIT, K_MAX };
static const char *const names[] = { [K_GET] = "get", [K_QUIT] = "quit" };
static char motd[] = "hello\n";
static const int pairs[][2] = { 1, 2, 3, 4, 5 };
static long served;
void handle(const char *cmd)
{
    served++;
    printf("%s served=%ld names=%zu\n", cmd, served, sizeof names / sizeof names[0]);
}
'''

# v2 changes only handle(): the tables reach it through the running program
SIZES_V2 = r'''
#include <stdio.h>
enum key { K_GET, K_SET, K_QUIT, K_MAX };
static const char *const names[] = { [K_GET] = "get", [K_QUIT] = "quit" };
static char motd[] = "hello\n";
static const int pairs[][2] = { 1, 2, 3, 4, 5 };
static long served;
void handle(const char *cmd)
{
    served++;
    printf("%s served=%ld names=%zu motd=%zu pairs=%zu last=%s\n", cmd, served,
           sizeof names / sizeof names[0], sizeof motd, sizeof pairs / sizeof pairs[0],
           names[sizeof names / sizeof *names - 1]);
}
'''


def test_sizeof_of_tables_in_patched_code(tmp_path, program):
    p = Project(tmp_path / 'sizes')
    p.version('v1', SIZES_V1)
    p.version('v2', SIZES_V2)
    p.patch('v1', 'v2')
    p.patch('v2', 'v1')
    run = start(p, 'v1', program, [('a', 'a served=1 names=3')])
    step(run, p, 'v1', 'v2', [('b', 'b served=2 names=3 motd=7 pairs=3 last=quit')])
    step(run, p, 'v2', 'v1', [('c', 'c served=3 names=3')])


def test_implied_lengths_follow_c():
    """model.arrays against what gcc says of the same declarations."""
    import subprocess
    from pycparser import c_parser
    from dsu_tool.model.arrays import Lengths
    src = (r'enum {A, B = 5, C}; typedef struct p { int a, b; } P;'
           r'struct q { char n[4]; int x; };'
           r'char s[] = "ab" "c\n\x41\101"; P ps[] = {[B] = {1, 2}, 3, 4, 5};'
           r'int x[] = {[A + 2] = 1}; int y[] = {1, 2, 3}; const char *names[] = {"a", "b"};'
           r'struct p e[] = {1, 2, 3}; struct q qq[] = {{"ab", 1}, {"c", 2}};'
           r'char m[][4] = {"a", "bb", "c"}; int z[] = {[C] = 1, 2, [1] = 3};'
           r'int w[][2][2] = {1, 2, 3, 4, 5}; long big[] = {[(1 << 3) - 1] = 7};')
    ast = c_parser.CParser().parse(src)
    lengths = Lengths(ast, {'P': ast.ext[1].type})
    mine = {e.name: lengths.length(e.type, e.init) for e in ast.ext[3:]}
    probe = src + ''.join('int n_%s = sizeof %s / sizeof %s[0];' % (n, n, n) for n in mine)
    asm = subprocess.run(['gcc', '-x', 'c', '-S', '-o', '-', '-'], input=probe,
                         capture_output=True, text=True, check=True).stdout
    for name, n in mine.items():
        value = asm.split('n_%s:' % name)[1].split('.long')[1].split()[0]
        assert n == int(value), name


# -- a global array whose initialiser grows -----------------------------------

CONFIG_V1 = r'''
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct opt { const char *name; int value; int (*check)(int); };
static int positive(int v) { return v > 0; }
static struct opt opts[] = {
    {"port", 80, positive},
    {"workers", 2, positive},
    {"debug", 0, 0},
};
static int limit = 10;
void handle(const char *cmd)
{
    char name[32];
    int value;
    if (sscanf(cmd, "set %31s %d", name, &value) == 2) {
        for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
            if (!strcmp(opts[i].name, name) && (!opts[i].check || opts[i].check(value)))
                opts[i].value = value;
    }
    printf("%s:", cmd);
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        printf(" %s=%d", opts[i].name, opts[i].value);
    printf(" limit=%d\n", limit);
}
'''

# v2: two options more, whose check is the running program's function; the
# limit's initialiser changes (a value the running program keeps, unless a
# transformer says otherwise)
CONFIG_V2 = CONFIG_V1.replace('''    {"debug", 0, 0},
''', '''    {"debug", 0, 0},
    {"timeout", 30, positive},
    {"backlog", 128, positive},
''').replace('static int limit = 10;', 'static int limit = 20;')

LIMIT_TRANSFORMER = r'''
int dsu_transform_limit(const int *old, int *new)
{
    *new = *old < 20 ? 20 : *old;     /* at least the new default */
    return 0;
}
'''


def test_global_array_whose_initialiser_grows(tmp_path, program):
    p = Project(tmp_path / 'config')
    p.version('v1', CONFIG_V1)
    p.version('v2', CONFIG_V2)
    out = p.patch('v1', 'v2').stdout
    assert 'changed type of    opts (lib.c:7): struct opt[3] -> struct opt[5]' in out
    assert 'kept value         limit' in out
    assert 'dsu_transform_limit() in the transformer file can change it' in out
    p.patch('v2', 'v1')
    run = start(p, 'v1', program, [
        ('set port 8080', 'set port 8080: port=8080 workers=2 debug=0 limit=10')])
    step(run, p, 'v1', 'v2', [
        ('set workers 4', 'set workers 4: port=8080 workers=4 debug=0 timeout=30 '
         'backlog=128 limit=10'),
        ('set backlog 0', 'set backlog 0: port=8080 workers=4 debug=0 timeout=30 '
         'backlog=128 limit=10'),
        ('set timeout 5', 'set timeout 5: port=8080 workers=4 debug=0 timeout=5 '
         'backlog=128 limit=10')])
    step(run, p, 'v2', 'v1', [
        ('set debug 1', 'set debug 1: port=8080 workers=4 debug=1 limit=10')])


def test_transformer_for_a_kept_value(tmp_path, program):
    from dsu_tool.patchgen.transform import transformer_file
    p = Project(tmp_path / 'kept')
    p.version('v1', CONFIG_V1)
    p.version('v2', CONFIG_V2)
    p.write(transformer_file(p.root, 'prog', 'v1', 'v2'), LIMIT_TRANSFORMER)
    out = p.patch('v1', 'v2').stdout
    assert 'transformed value  limit' in out
    p.patch('v2', 'v1')
    run = start(p, 'v1', program, [('get', 'get: port=80 workers=2 debug=0 limit=10')])
    step(run, p, 'v1', 'v2', [
        ('get', 'get: port=80 workers=2 debug=0 timeout=30 backlog=128 limit=20')])
    # back to v1: its initialiser says 10, and the running 20 is kept
    step(run, p, 'v2', 'v1', [('get', 'get: port=80 workers=2 debug=0 limit=20')])


# -- a struct type the patch introduces ---------------------------------------

SESSIONS_V1 = r'''
#include <stdio.h>
static long requests;
void handle(const char *cmd)
{
    requests++;
    printf("%s requests=%ld\n", cmd, requests);
}
'''

# v2 introduces struct session: objects on the heap and in a global table
SESSIONS_V2 = r'''
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct session { int id; long bytes; };
static long requests;
static struct session *sessions[4];
static int nsessions;
static struct session console = { 99, 7 };
static void show(const char *cmd)
{
    printf("%s requests=%ld", cmd, requests);
    for (int i = 0; i < nsessions; i++)
        printf(" %d:%ld", sessions[i]->id, sessions[i]->bytes);
    printf(" console=%d:%ld\n", console.id, console.bytes);
}
void handle(const char *cmd)
{
    int n;
    requests++;
    if (!strcmp(cmd, "open") && nsessions < 4) {
        struct session *s = calloc(1, sizeof *s);
        s->id = nsessions + 1;
        sessions[nsessions++] = s;
    } else if (sscanf(cmd, "add %d", &n) == 1) {
        for (int i = 0; i < nsessions; i++)
            sessions[i]->bytes += n;
        console.bytes += n;
    }
    show(cmd);
}
'''

# v3 changes the type v2 introduced: a field more
SESSIONS_V3 = SESSIONS_V2.replace(
    'struct session { int id; long bytes; };',
    'struct session { int id; long bytes; int hits; };').replace(
    '''            sessions[i]->bytes += n;''', '''            sessions[i]->bytes += n, sessions[i]->hits++;''').replace(
    '''        printf(" %d:%ld", sessions[i]->id, sessions[i]->bytes);''',
    '''        printf(" %d:%ld/%d", sessions[i]->id, sessions[i]->bytes, sessions[i]->hits);''')


def sessions_project(tmp_path):
    p = Project(tmp_path / 'sessions')
    p.version('v1', SESSIONS_V1)
    p.version('v2', SESSIONS_V2)
    p.version('v3', SESSIONS_V3)
    out = p.patch('v1', 'v2').stdout
    assert 'added type         struct session (lib.c:5)' in out
    for frm, to in (('v2', 'v3'), ('v3', 'v2'), ('v2', 'v1')):
        p.patch(frm, to)
    return p


def test_new_struct_type_then_changed_then_back(tmp_path, program):
    p = sessions_project(tmp_path)
    run = start(p, 'v1', program, [('a', 'a requests=1')])
    step(run, p, 'v1', 'v2', [('open', 'open requests=2 1:0 console=99:7'),
                              ('add 5', 'add 5 requests=3 1:5 console=99:12'),
                              ('open', 'open requests=4 1:5 2:0 console=99:12')])
    assert '"struct session@' in dsu('status', run.pid, '--json').stdout
    # the type v1 -> v2 introduced is changed by v2 -> v3
    step(run, p, 'v2', 'v3', [('add 1', 'add 1 requests=5 1:6/1 2:1/1 console=99:13'),
                              ('open', 'open requests=6 1:6/1 2:1/1 3:0/0 console=99:13')])
    step(run, p, 'v3', 'v2', [('add 2', 'add 2 requests=7 1:8 2:3 3:2 console=99:15')])
    step(run, p, 'v2', 'v1', [('b', 'b requests=8')])
    # introduced again, by a fresh build of the patch (the file applied
    # first stays loaded, with its storage): the process knows the type
    # already, in the same layout
    again = p.path('again.v1-to-v2.patch.so')
    shutil.copy(p.path('prog.v1-to-v2.patch.so'), again)
    r = dsu('apply', run.pid, again)
    assert r.returncode == 0, r.stdout + r.stderr
    assert run.ask('open') == 'open requests=9 1:0 console=99:7'


def test_changed_type_from_a_fresh_v2(tmp_path, program):
    p = sessions_project(tmp_path)
    run = start(p, 'v2', program, [('open', 'open requests=1 1:0 console=99:7'),
                                  ('add 4', 'add 4 requests=2 1:4 console=99:11')])
    step(run, p, 'v2', 'v3', [('add 1', 'add 1 requests=3 1:5/1 console=99:12')])
    step(run, p, 'v3', 'v2', [('add 1', 'add 1 requests=4 1:6 console=99:13')])


def test_type_introduced_again_in_another_layout_is_refused(tmp_path, program):
    p = Project(tmp_path / 'again')
    p.version('v1', SESSIONS_V1)
    p.version('v2', SESSIONS_V2)
    p.version('v2b', SESSIONS_V2.replace('struct session { int id; long bytes; };',
                                         'struct session { long bytes; int id; };'))
    for frm, to in (('v1', 'v2'), ('v2', 'v1'), ('v1', 'v2b')):
        p.patch(frm, to)
    run = start(p, 'v1', program, [('a', 'a requests=1')])
    step(run, p, 'v1', 'v2', [('open', 'open requests=2 1:0 console=99:7')])
    step(run, p, 'v2', 'v1', [('b', 'b requests=3')])
    # the v2 session object still exists, in v2's layout: v2b's must not
    # take it for one of its own
    r = p.apply(run.pid, 'v1', 'v2b')
    assert r.returncode == 3, r.stdout + r.stderr
    assert 'introduces struct session@' in r.stderr and 'already has it' in r.stderr
    assert run.ask('c') == 'c requests=4'               # v1 still runs
