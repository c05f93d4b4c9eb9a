"""Continuations (passes.continuations): a forking server whose main
fills a session on its stack and calls the accept loop, which never
returns in the parent; each child comes back into main and greets its
client from the session.  A patch that changes main's code after the
call, and the session's type, takes effect in the children forked after
the update (tests/servers/session)."""

import os
import re
import shutil
import socket
import subprocess

import pytest

from conftest import ROOT, dsu, scons

SESSION = os.path.join(ROOT, 'tests', 'servers', 'session')
SCONSTRUCT = ("env = Environment(tools=['default', 'dsu'])\n"
              "env.Append(CFLAGS=['-O2', '-Wall', '-Wextra', '-Werror'])\n"
              "env.Program('prog', ['main.c', 'net.c'])\n")


class Server:
    def __init__(self, binary):
        self.proc = subprocess.Popen([binary, '0'], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r'listening on (\d+)$', line.strip())
        assert m, line
        self.port = int(m.group(1))

    def greeting(self):
        with socket.create_connection(('127.0.0.1', self.port), timeout=10) as c:
            data = b''
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    return data.decode()
                data += chunk

    def stop(self):
        self.proc.kill()
        self.proc.wait(10)


class Project:
    def __init__(self, root):
        self.root = str(root)
        os.makedirs(self.root)
        with open(os.path.join(self.root, 'SConstruct'), 'w') as f:
            f.write(SCONSTRUCT)
        assert dsu('init', self.root).returncode == 0

    def sources(self, *dirs):
        for d in dirs:
            for name in os.listdir(os.path.join(SESSION, d)):
                dst = os.path.join(self.root, 'dsu' if name.endswith('.xf.c') else '', name)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy(os.path.join(SESSION, d, name), dst)

    def version(self, name, *dirs):
        self.sources(*dirs)
        scons(self.root, 'dsu=1', 'version=' + name)
        shutil.copy(self.path('prog'), self.path('prog.' + name))

    def path(self, name):
        return os.path.join(self.root, name)

    def patch(self, frm, to, check=True):
        return scons(self.root, 'patch', 'from=' + frm, 'to=' + to, check=check)

    def apply(self, pid, frm, to):
        return dsu('apply', pid, self.path('prog.%s-to-%s.patch.so' % (frm, to)),
                   '--timeout', '20')


@pytest.fixture
def servers():
    started = []

    def start(binary):
        s = Server(binary)
        started.append(s)
        return s
    yield start
    for s in started:
        s.stop()


def test_child_forked_after_update_runs_new_code_after_main_call(tmp_path, servers):
    p = Project(tmp_path / 'session')
    p.version('v1', 'v1')
    p.version('v2', 'v2')
    out = p.patch('v1', 'v2').stdout
    assert re.search(r'^  changed function   main after serve\(\) \(main\.c:21\)', out,
                     re.M), out
    assert re.search(r'^  changed type       struct session', out, re.M), out
    # the change before the call (the new field's initialisation) is in the
    # part of main that is running: said so, as for any running function
    assert re.search(r'^  note: main \(main\.c:10\) is running at every update point of v1, '
                     r'so the running call keeps its old code and main is never called again',
                     out, re.M), out
    assert '__dsu' not in out

    server = servers(p.path('prog.v1'))
    assert server.greeting() == 'v1 hello from alpha, visitor 8\n'
    r = p.apply(server.proc.pid, 'v1', 'v2')
    assert r.returncode == 0, r.stdout + r.stderr
    # the child forked now returns into main's old code, which calls the
    # new continuation: new text, the session converted (the transformer's
    # motto), its old fields kept (the parent's count goes on)
    assert server.greeting() == 'v2 hello from alpha, visitor 9, motto converted\n'
    assert server.greeting() == 'v2 hello from alpha, visitor 10, motto converted\n'


def test_continuation_given_other_variables_is_said_to_take_no_effect(tmp_path):
    """v3 declares a variable before the call and uses it after: the new
    continuation needs it, and the running main does not pass it."""
    p = Project(tmp_path / 'session')
    p.version('v2', 'v1', 'v2')
    p.version('v3', 'v3')
    out = p.patch('v2', 'v3').stdout
    assert re.search(r'^  note: main \(main\.c:10\): the change to its code after serve\(\) '
                     r'\(main\.c:22\) cannot take effect in the running process, where main is '
                     r'running at every update point of v2: that code now uses mood, declared '
                     r'before the call, which the running main does not pass on to it', out,
                     re.M), out
    assert '__dsu' not in out


def test_code_after_call_that_cannot_move_stays_and_is_named(tmp_path, servers):
    """A goto back across the call keeps the code after it in main: the
    program builds and runs as the ordinary build does, and scons patch
    says why main's change cannot take effect (and it does not)."""
    p = Project(tmp_path / 'retry')
    p.sources('v1', 'goto_v1')
    scons(p.root)
    ordinary = servers(p.path('prog'))
    expected = ordinary.greeting()
    assert expected == 'v1 hello from alpha, visitor 8\n'
    scons(p.root, '-c')
    p.version('v1', 'goto_v1')
    p.version('v2', 'goto_v2')
    out = p.patch('v1', 'v2').stdout
    assert re.search(r'^  note: main \(main\.c:10\) is running at every update point of v1, '
                     r'so the running call keeps its old code and '
                     r'main is never called again; .*; its code after serve\(\) \(main\.c:21\) '
                     r'stays in it as well, because a goto after the call \(main\.c:23\) jumps '
                     r'back before it$', out, re.M), out
    assert '__dsu' not in out
    server = servers(p.path('prog.v1'))
    assert server.greeting() == expected
    assert p.apply(server.proc.pid, 'v1', 'v2').returncode == 0
    assert server.greeting() == 'v1 hello from alpha, visitor 9\n'      # as said


# -- which calls the pass counts (one unit, as the pass sees it) -----------------

SERVE_H = 'struct session { int port; };\nint serve(struct session *s);\n'


def _generated(tmp_path, main_c):
    from test_frontend import transform
    from dsu_tool.codegen.unit import RUNTIME_INCLUDE
    (tmp_path / 'serve.h').write_text(SERVE_H)
    return transform(tmp_path, main_c, 'main.c',
                     ['-DDSU_UPDATEABLE', '-I', RUNTIME_INCLUDE])[2]


def test_main_after_a_function_of_another_unit_is_a_continuation(tmp_path):
    text = _generated(tmp_path, r'''
        #include <stdio.h>
        #include "serve.h"
        int main(void)
        {
            struct session s = { 7 };
            int fd = serve(&s);
            printf("%s %d %d\n", __func__, s.port, fd);
            return fd;
        }
        ''')
    assert '__dsu_cont_4main_5serve_1' in text
    # the continuation returns main's value, and __func__ still says main
    assert 'return __dsu_slot___dsu_cont_4main_5serve_1' in text
    assert '"main", (*__dsu_p_s).port, *__dsu_p_fd' in text


def test_no_continuation_where_no_call_can_reach_an_update_point(tmp_path):
    """Library calls, functions of the unit that reach no update point,
    and functions the main file declares itself lead nowhere: the program
    pays nothing."""
    text = _generated(tmp_path, r'''
        #include <stdio.h>
        #include <stdlib.h>
        void abort(void);
        int helper(int);
        int elsewhere(int);
        static int twice(int x) { return 2 * x; }
        int main(void)
        {
            int n = twice(3);
            printf("%d\n", elsewhere(n));
            if (helper(n) != n)
                abort();
            exit(n - 6);
        }
        int helper(int x) { return x; }
        ''')
    assert '__dsu_cont' not in text


def test_function_calling_one_that_holds_an_update_point(tmp_path):
    """Outside main, a call counts when it reaches an update point through
    the unit's own call graph; the function holding the point keeps its
    code after it (it finishes in its old version)."""
    text = _generated(tmp_path, r'''
        #include <dsu.h>
        #include <stdio.h>
        static int wait_here(int *n) { (*n)++; DSU_update(); return *n; }
        void handle(const char *cmd)
        {
            int n = 0;
            wait_here(&n);
            printf("%s %d\n", cmd, n);
        }
        ''')
    assert '__dsu_cont_6handle_9wait_here_1' in text
    assert '__dsu_cont_9wait_here' not in text
