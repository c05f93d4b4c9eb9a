"""Patches to tables and other data: a dispatch table that gains a
command, `sizeof table / sizeof table[0]` in patched code, a global array
whose initialiser grows, a struct type the patch introduces.  Each case
is a live program (tests/programs/driver.c) updated v1 -> v2 and then
back v2 -> v1 (or on to v3) in the same process, its state checked at
every step."""

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
static int opens, closes;
static int cmd_open(int x) { return opens += x; }
static int cmd_close(int x) { return closes += x; }
static const struct command commands[] = {
    {"open", cmd_open, &opens, "opens"},
    {"close", cmd_close, &closes, "closes"},
};
void handle(const char *cmd)
{
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
static int opens, closes;
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
static int *const counters[] = { &opens, &closes, stats + 1 };
void handle(const char *cmd)
{
    if (!strcmp(cmd, "hooks")) {
        printf("hooks %d %d counters %d %d %d\n", hooks[0](0), hooks[1](0),
               *counters[0], *counters[1], *counters[2]);
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
                                  ('stat', 'stat unknown')])
    step(run, p, 'v1', 'v2', [
        ('open', 'open=2 counter=2 help=opens'),          # the running count
        ('stat', 'stat=102 counter=1 help=tats'),
        ('reopen', 'reopen=3 counter=3 help=again'),
        ('close', 'close=1 counter=1 help=closes'),
        ('hooks', 'hooks 1 103 counters 3 1 1')])
    step(run, p, 'v2', 'v1', [
        ('open', 'open=4 counter=4 help=opens'),
        ('stat', 'stat unknown'), ('hooks', 'hooks unknown'),
        ('close', 'close=2 counter=2 help=closes')])
    status = dsu('status', run.pid)
    assert 'v1' in status.stdout
