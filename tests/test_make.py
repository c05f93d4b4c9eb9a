"""Projects built with Make: `make CC="dsu cc ..."` builds the updateable
program, `dsu patch` its patch, `dsu apply` applies it to the running
program.  The project (tests/make/) is a plain Makefile: a suffix rule
without -o, link lines with -lm before the objects, two programs sharing
an object.  As on any Debian system, such a link needs
-Wl,--no-as-needed (the linker drops -lm before it sees the objects)."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, copy_tree, dsu, tool_env

PROJECT = os.path.join(ROOT, 'tests', 'make')
CC = 'cc -Wl,--no-as-needed'
DSU_CC = '%s -m dsu_tool cc' % sys.executable


def make(tree, *args, check=True):
    proc = subprocess.run(['make', '--no-print-directory'] + list(args), cwd=tree,
                          capture_output=True, text=True, env=tool_env(), timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError('make %s failed:\n%s\n%s' % (
            ' '.join(args), proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc


def dsu_make(tree, version, *args, check=True):
    return make(tree, 'CC=%s --version-name %s -- %s' % (DSU_CC, version, CC), *args,
                check=check)


def dsu_in(tree, *args):
    """The dsu command run in TREE (the project root is found from there)."""
    return subprocess.run([sys.executable, '-m', 'dsu_tool'] + list(args), cwd=tree,
                          capture_output=True, text=True, env=tool_env(), timeout=300)


def include_dir():
    r = dsu('cc', '--print-include-dir')
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def new_tree(path, version='v1'):
    tree = str(path)
    os.makedirs(tree, exist_ok=True)
    shutil.copy(os.path.join(PROJECT, 'Makefile'), tree)
    copy_tree(os.path.join(PROJECT, 'v1'), tree)
    if version == 'v2':
        copy_tree(os.path.join(PROJECT, 'v2'), tree)
    return tree


def ask(proc, line):
    proc.stdin.write(line + '\n')
    proc.stdin.flush()
    return proc.stdout.readline().rstrip('\n')


@pytest.fixture
def started():
    procs = []

    def start(path):
        p = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, bufsize=1)
        procs.append(p)
        assert p.stdout.readline().strip() == 'ready'
        return p
    yield start
    for p in procs:
        p.stdin.close()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """v1 built, kept as server.v1; v2 built over it; the patch made."""
    tree = new_tree(tmp_path_factory.mktemp('make'))
    # two programs linked at once: the runtime library is shared
    v1 = dsu_make(tree, 'v1', '-j2')
    shutil.copy(os.path.join(tree, 'server'), os.path.join(tree, 'server.v1'))
    copy_tree(os.path.join(PROJECT, 'v2'), tree)
    v2 = dsu_make(tree, 'v2')
    patch = dsu_in(tree, 'patch', '--from', 'v1', '--to', 'v2', 'server')
    return tree, v1, v2, patch


def test_make_build_patch_and_live_update(built, started):
    tree, v1, v2, patch = built
    assert patch.returncode == 0, patch.stdout + patch.stderr
    assert os.path.exists(os.path.join(tree, 'server.v1-to-v2.patch.so'))
    assert 'changed function   handle' in patch.stdout
    assert 'added function     mean' in patch.stdout
    p = started(os.path.join(tree, 'server.v1'))
    assert ask(p, '16') == 'n=16 root=4 count=1 sum=16'
    assert ask(p, '9') == 'n=9 root=3 count=2 sum=25'
    r = dsu('apply', p.pid, os.path.join(tree, 'server.v1-to-v2.patch.so'))
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'v1 -> v2' in r.stdout
    # the count and the sum of before the update are still there
    assert ask(p, '2') == 'v2 n=2 root=1 count=3 sum=27 mean=9'
    status = dsu('status', p.pid)
    assert 'server v2 (base v1)' in status.stdout, status.stdout


def test_each_link_records_its_own_program(built):
    tree, v1, v2, _ = built
    # the link prints what the version lets a patch change
    assert 'dsu: server v1: 1 struct type updateable' in v1.stdout, v1.stdout
    assert 'dsu: checker v1:' in v1.stdout
    listed = dsu('versions', tree).stdout.split('\n')
    programs = sorted(line.split()[:2] for line in listed if line.strip())
    # v2 changed only the server's units: the checker was not linked again
    assert programs == [['v1', 'checker'], ['v1', 'server'], ['v2', 'server']], listed
    units = {tuple(line.split()[:2]): line.split()[-2] for line in listed if line.strip()}
    assert units[('v1', 'server')] == '3' and units[('v1', 'checker')] == '2'
    assert os.path.exists(os.path.join(tree, '.dsu', 'build', 'libdsurt.a'))


def test_ordinary_make_behaves_the_same(built, tmp_path):
    tree = new_tree(tmp_path / 'plain')
    make(tree, 'CC=%s' % CC, 'CPPFLAGS=-I%s' % include_dir())
    assert not os.path.exists(os.path.join(tree, '.dsu'))
    questions = ['16', '9', '-4', '1000000']

    def answers(path):
        out = subprocess.run([path], input='\n'.join(questions) + '\n', text=True,
                             capture_output=True, timeout=20)
        return out.returncode, out.stdout
    assert answers(os.path.join(tree, 'server')) == \
        answers(os.path.join(built[0], 'server.v1'))
    for args in ([], ['49']):
        assert subprocess.run([os.path.join(tree, 'checker')] + args,
                              capture_output=True).stdout == \
            subprocess.run([os.path.join(built[0], 'checker')] + args,
                           capture_output=True).stdout


def test_patch_from_a_version_to_itself_is_refused(built):
    tree = built[0]
    r = dsu_in(tree, 'patch', '--from', 'v1', '--to', 'v1', 'server')
    assert r.returncode == 2
    assert r.stderr.startswith('dsu: dsu patch --from v1 --to v1 PROGRAM: a patch goes '
                               'from one version to another'), r.stderr
    r = dsu_in(os.path.dirname(tree), 'patch', '--from', 'v1', '--to', 'v3',
               os.path.join(tree, 'server'), '--root', tree)
    assert r.returncode == 2 and "no version 'v3' of server" in r.stderr, r.stderr


MMD_MAKEFILE = '''\
CFLAGS = -O2 -Wall -MMD -MP
SERVER = main.o tally.o util.o
server: $(SERVER)
\t$(CC) -o server $(LDFLAGS) -lm $(SERVER)
%.o: %.c
\t$(CC) $(CFLAGS) -c -o $@ $<
-include $(SERVER:.o=.d)
'''


def test_dependencies_generated_with_mmd_name_the_sources_headers(tmp_path):
    """-MMD writes the dependencies while compiling; the compile runs on
    the generated C, where the project's headers are already expanded:
    the wrapper writes them again from the source, or a header edit
    would rebuild nothing."""
    tree = new_tree(tmp_path / 'mmd')
    with open(os.path.join(tree, 'Makefile'), 'w') as f:
        f.write(MMD_MAKEFILE)
    dsu_make(tree, 'v1', 'server')
    with open(os.path.join(tree, 'tally.d')) as f:
        deps = f.read()
    assert deps.startswith('tally.o: tally.c tally.h'), deps
    assert '.dsu' not in deps
    assert 'tally.h:' in deps         # -MP
    with open(os.path.join(tree, 'tally.h'), 'a') as f:
        f.write('int unused_declaration(void);\n')
    out = dsu_make(tree, 'v1b', 'server').stdout
    assert 'tally.c' in out and 'main.c' in out and 'util.c' in out, out
    assert 'dsu: server v1b:' in out


def test_objects_not_compiled_by_the_pass_link_as_they_are(tmp_path):
    """An assembly file and a C file compiled by an explicit plain cc:
    both link into the updateable program unchanged; only the units the
    pass compiled are in the version."""
    tree = new_tree(tmp_path / 'mixed')
    with open(os.path.join(tree, 'seven.s'), 'w') as f:
        f.write('\t.text\n\t.globl seven\n\t.type seven, @function\nseven:\n'
                '\tmovl $7, %eax\n\tret\n\t.section .note.GNU-stack,"",@progbits\n')
    with open(os.path.join(tree, 'eight.c'), 'w') as f:
        f.write('int eight(void) { return 8; }\n')
    with open(os.path.join(tree, 'checker.c'), 'w') as f:
        f.write('#include <stdio.h>\nint seven(void);\nint eight(void);\nint root_of(int);\n'
                'int main(void) { printf("%d %d %d\\n", seven(), eight(), root_of(81)); '
                'return 0; }\n')
    with open(os.path.join(tree, 'Makefile'), 'a') as f:
        f.write('mixed: checker.o util.o seven.o eight.o\n'
                '\t$(CC) -o mixed -lm checker.o util.o seven.o eight.o\n'
                'eight.o: eight.c\n\tcc -c -o eight.o eight.c\n')
    dsu_make(tree, 'v1', 'mixed')
    assert subprocess.run([os.path.join(tree, 'mixed')], capture_output=True,
                          text=True).stdout == '7 8 9\n'
    listed = dsu('versions', tree).stdout
    assert 'mixed' in listed and '2 units' in listed, listed


def test_object_compiled_again_without_the_pass_stops_the_link(tmp_path):
    """A plain object where an updateable one was would lay out the
    program's structs in two ways: the link says so and what to do."""
    tree = new_tree(tmp_path / 'stale')
    dsu_make(tree, 'v1', 'server')
    subprocess.run(['cc', '-c', '-I', include_dir(), 'tally.c'], cwd=tree, check=True)
    os.remove(os.path.join(tree, 'server'))
    r = dsu_make(tree, 'v2', 'server', check=False)
    assert r.returncode != 0
    assert 'dsu: error: tally.o was compiled again without dsu cc' in r.stderr, r.stderr
    assert 'make clean' in r.stderr


def test_compile_and_link_in_one_command(tmp_path):
    """Make's built-in rule for `make prog` from prog.c compiles and links
    in one command: the source goes through the pass all the same."""
    tree = str(tmp_path / 'one')
    os.makedirs(tree)
    with open(os.path.join(tree, 'hello.c'), 'w') as f:
        f.write('#include <stdio.h>\n#include <dsu.h>\nstatic int calls;\n'
                'int main(void) { DSU_update(); printf("hello %d %s\\n", ++calls, '
                'dsu_version()); return 0; }\n')
    make(tree, 'CC=%s --version-name one -- %s' % (DSU_CC, CC), 'hello')
    out = subprocess.run([os.path.join(tree, 'hello')], capture_output=True, text=True)
    assert out.stdout == 'hello 1 one\n'
    listed = dsu('versions', tree).stdout
    assert 'hello' in listed and '1 units' in listed, listed


def test_other_commands_run_unchanged(tmp_path):
    tree = str(tmp_path)
    plain = subprocess.run(['cc', '--version'], capture_output=True, text=True).stdout
    assert dsu('cc', '--', 'cc', '--version').stdout == plain
    assert dsu('cc', '--version').stdout == plain
    with open(os.path.join(tree, 'x.c'), 'w') as f:
        f.write('#include <dsu.h>\n#ifdef DSU_UPDATEABLE\nint updateable;\n#endif\n')
    r = subprocess.run(DSU_CC.split() + ['-E', 'x.c'], cwd=tree, capture_output=True,
                       text=True, env=tool_env())
    assert r.returncode == 0 and 'int updateable;' in r.stdout, r.stderr
    r = subprocess.run(DSU_CC.split() + ['-MM', 'x.c'], cwd=tree, capture_output=True,
                       text=True, env=tool_env())
    assert r.returncode == 0 and r.stdout.startswith('x.o: x.c'), r.stderr
    assert not os.path.exists(os.path.join(tree, '.dsu'))


LIBRARY_MAKEFILE = '''\
CFLAGS = -O2 -Wall
server: main.o tally.o libutil.a
\t$(CC) -o server main.o tally.o -L. -lutil -lm
libutil.a: util.o
\trm -f $@
\t$(AR) rcs $@ util.o
'''


def test_units_of_the_projects_own_static_library_are_in_the_version(tmp_path, started):
    """util.o reaches the link inside libutil.a (-L. -lutil): its unit is
    part of the version, so a patch can change its functions."""
    tree = new_tree(tmp_path / 'lib')
    with open(os.path.join(tree, 'Makefile'), 'w') as f:
        f.write(LIBRARY_MAKEFILE)
    dsu_make(tree, 'v1')
    shutil.copy(os.path.join(tree, 'server'), os.path.join(tree, 'server.v1'))
    listed = dsu('versions', tree).stdout
    assert 'server' in listed and '3 units' in listed, listed
    with open(os.path.join(tree, 'util.c'), 'a') as f:
        f.write('/* v2: rounded */\n')
    with open(os.path.join(tree, 'util.c')) as f:
        text = f.read().replace('(int)sqrt((double)n)', '(int)(sqrt((double)n) + 0.5)')
    with open(os.path.join(tree, 'util.c'), 'w') as f:
        f.write(text)
    dsu_make(tree, 'v2')
    patch = dsu_in(tree, 'patch', '--from', 'v1', '--to', 'v2', 'server')
    assert patch.returncode == 0, patch.stdout + patch.stderr
    assert 'changed function   root_of' in patch.stdout, patch.stdout
    p = started(os.path.join(tree, 'server.v1'))
    assert ask(p, '8') == 'n=8 root=2 count=1 sum=8'
    r = dsu('apply', p.pid, os.path.join(tree, 'server.v1-to-v2.patch.so'))
    assert r.returncode == 0, r.stdout + r.stderr
    assert ask(p, '8') == 'n=8 root=3 count=2 sum=16'


CMAKELISTS = '''\
cmake_minimum_required(VERSION 3.21)
project(tally C)
add_library(util STATIC util.c)
add_executable(server main.c tally.c)
target_link_libraries(server util m)
'''


def _cmake(tree, version):
    """Configure with dsu cc as the compiler and linker launcher (CMake
    3.21): CMake's own compiler checks do not go through it."""
    launcher = ';'.join([sys.executable, '-m', 'dsu_tool', 'cc', '--version-name', version,
                         '--root', tree, '--'])
    build = os.path.join(tree, 'build')
    for command in (['cmake', '-S', tree, '-B', build, '-G', 'Unix Makefiles',
                     '-DCMAKE_C_COMPILER_LAUNCHER=' + launcher,
                     '-DCMAKE_C_LINKER_LAUNCHER=' + launcher],
                    ['cmake', '--build', build]):
        r = subprocess.run(command, cwd=tree, capture_output=True, text=True,
                           env=tool_env(), timeout=300)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def test_cmake_with_dsu_cc_as_launcher(tmp_path, started):
    if shutil.which('cmake') is None:
        pytest.fail('cmake is not installed (.ci/run installs it)')
    tree = new_tree(tmp_path / 'cmake')
    with open(os.path.join(tree, 'CMakeLists.txt'), 'w') as f:
        f.write(CMAKELISTS)
    out = _cmake(tree, 'v1').stdout
    assert 'dsu: build/server v1:' in out, out
    listed = dsu('versions', tree).stdout
    assert listed.split() == ['v1', 'build/server', 'id', listed.split()[3], '3', 'units'], \
        listed
    server = os.path.join(tree, 'build', 'server')
    shutil.copy(server, server + '.v1')
    copy_tree(os.path.join(PROJECT, 'v2'), tree)
    _cmake(tree, 'v2')
    patch = dsu_in(tree, 'patch', '--from', 'v1', '--to', 'v2', 'build/server')
    assert patch.returncode == 0, patch.stdout + patch.stderr
    p = started(server + '.v1')
    assert ask(p, '4') == 'n=4 root=2 count=1 sum=4'
    r = dsu('apply', p.pid, server + '.v1-to-v2.patch.so')
    assert r.returncode == 0, r.stdout + r.stderr
    assert ask(p, '6') == 'v2 n=6 root=2 count=2 sum=10 mean=5'


def test_cc_and_patch_in_the_commands_help():
    r = dsu('--help')
    assert r.returncode == 0
    lines = r.stdout.split('\n')
    assert any(line.split()[:2] == ['cc', 'the'] for line in lines), r.stdout
    assert any(line.split()[:2] == ['patch', 'build'] for line in lines), r.stdout
    r = dsu('cc', '--help')
    assert r.returncode == 0 and r.stdout.startswith('usage: dsu cc'), r.stdout


def test_cc_usage_errors(tmp_path):
    r = dsu('cc', '--version-name', 'no good', '--', 'cc', '-c', 'x.c')
    assert r.returncode == 2
    assert r.stderr.startswith("dsu: --version-name='no good' is not a valid version "
                               "name"), r.stderr
    r = dsu('cc', '--root')
    assert r.returncode == 2 and r.stderr.startswith('dsu: cc: --root needs a value')
    r = dsu('patch', '--to', 'v2', 'prog')
    assert r.returncode == 2 and '--from' in r.stderr


AGREE_MAKEFILE = '''\
prog: main.o libsum.a
\t$(CC) -o prog main.o -L. -lsum
libsum.a: sum.o
\tar rcs libsum.a sum.o
.c.o:
\t$(CC) -O2 -c $<
'''

AGREE_HEADER = 'struct rec { long id; int qty; };\nlong total(struct rec *r, int n);\n'

# sum.c, alone, would wrap struct rec; main.c writes its bytes, which keeps
# it unwrapped in the program.  The library's copy of sum.o must then be
# the one compiled again with the ordinary layout, or total() steps through
# the array with the wrapped stride.
AGREE_SUM = '#include "rec.h"\nlong total(struct rec *r, int n)\n{\n    long t = 0;\n' \
    '    for (int i = 0; i < n; i++)\n        t += r[i].id * r[i].qty;\n    return t;\n}\n'

AGREE_MAIN = r'''#include <stdio.h>
#include "rec.h"
int main(void)
{
    struct rec recs[3] = { { 1, 10 }, { 2, 20 }, { 3, 30 } };
    FILE *f = fopen("recs.bin", "wb");
    fwrite(recs, sizeof recs[0], 3, f);
    fclose(f);
    printf("%ld\n", total(recs, 3));
    return 0;
}
'''


def test_unit_in_a_library_compiled_again_to_agree_is_put_back(tmp_path):
    tree = str(tmp_path / 'agree')
    os.makedirs(tree)
    for name, text in (('Makefile', AGREE_MAKEFILE), ('rec.h', AGREE_HEADER),
                       ('sum.c', AGREE_SUM), ('main.c', AGREE_MAIN)):
        with open(os.path.join(tree, name), 'w') as f:
            f.write(text)
    make(tree, 'sum.o', 'CC=%s --version-name v1 -- cc' % DSU_CC)   # sum.c first
    dsu_make(tree, 'v1')
    out = subprocess.run([os.path.join(tree, 'prog')], cwd=tree, capture_output=True,
                         text=True)
    assert out.stdout == '140\n', out.stdout + out.stderr
    # a second program linking the same objects finds their stamps current
    r = make(tree, '-B', 'prog', 'CC=%s --version-name v1b -- %s' % (DSU_CC, CC))
    assert 'compiled again without dsu cc' not in r.stderr
