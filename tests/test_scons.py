"""The SCons tool in real projects: adoption, ordinary builds, versions,
incremental rebuilds, and errors that name the user's file and line."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import dsu, scons, tool_env
from dsu_tool.codegen.unit import RUNTIME_INCLUDE

MAIN = r'''
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <dsu.h>
#include "stats.h"

int main(void)
{
    char line[256];
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    for (;;) {
        struct pollfd in = { 0, POLLIN, 0 };
        DSU_update();
        if (poll(&in, 1, 10) <= 0)
            continue;
        if (!fgets(line, sizeof line, stdin))
            break;
        line[strcspn(line, "\n")] = '\0';
        printf("%s\n", describe(line));
    }
    return 0;
}
'''

STATS_H = 'const char *describe(const char *word);\n'

STATS_V1 = r'''
#include <stdio.h>
#include <string.h>
#include "stats.h"

static char reply[128];

static int words(void)
{
    static int seen;        /* counts across the update */
    return ++seen;
}

const char *describe(const char *word)
{
    snprintf(reply, sizeof reply, "%s: %zu letters, word %d", word, strlen(word), words());
    return reply;
}
'''

STATS_V2 = r'''
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "stats.h"

static char reply[128];
int vowels_seen = 1000;     /* a new global, initialised as written */

static int words(void)
{
    static int seen;
    return ++seen;
}

static int vowels(const char *w)
{
    int n = 0;
    for (; *w; w++)
        n += strchr("aeiou", tolower((unsigned char)*w)) != NULL;
    vowels_seen += n;
    return n;
}

const char *describe(const char *word)
{
    int n = vowels(word);
    snprintf(reply, sizeof reply, "%s: %zu letters, %d vowels, word %d, total vowels %d",
             word, strlen(word), n, words(), vowels_seen);
    return reply;
}
'''


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


@pytest.fixture
def project(tmp_path):
    """An ordinary SCons project with sources in a subdirectory."""
    root = str(tmp_path / 'wordsvc')
    write(os.path.join(root, 'src', 'main.c'), MAIN)
    write(os.path.join(root, 'src', 'stats.h'), STATS_H)
    write(os.path.join(root, 'src', 'stats.c'), STATS_V1)
    write(os.path.join(root, 'SConstruct'),
          "env = Environment(tools=['default', 'dsu'])\n"
          "env.Append(CFLAGS=['-O2', '-Wall'])\n"
          "env.Program('wordsvc', ['src/main.c', 'src/stats.c'])\n")
    r = dsu('init', root)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(os.path.join(root, 'site_scons', 'site_tools', 'dsu', '__init__.py'))
    return root


def test_outside_project_updates_live(project, program):
    """dsu init + the one-line tool change; an update that changes
    functions, adds a global and keeps a static local counting."""
    scons(project, 'dsu=1', 'version=v1')
    shutil.copy(os.path.join(project, 'wordsvc'), os.path.join(project, 'wordsvc.v1'))
    p = program(os.path.join(project, 'wordsvc.v1'))
    assert p.ask('hello') == 'hello: 5 letters, word 1'
    assert p.ask('world') == 'world: 5 letters, word 2'
    write(os.path.join(project, 'src', 'stats.c'), STATS_V2)
    scons(project, 'dsu=1', 'version=v2')
    out = scons(project, 'patch', 'from=v1', 'to=v2').stdout
    assert 'added function     vowels' in out
    assert 'added global       vowels_seen' in out
    patch = os.path.join(project, 'wordsvc.v1-to-v2.patch.so')
    r = dsu('apply', p.pid, patch)
    assert r.returncode == 0, r.stderr
    assert p.ask('update') == 'update: 6 letters, 3 vowels, word 3, total vowels 1003'
    assert p.ask('again') == 'again: 5 letters, 3 vowels, word 4, total vowels 1006'


def test_full_replacement_replaces_every_function_and_keeps_state(project, program):
    """`scons patch full=1`: the functions that did not change are in the
    patch too (main, the static words(), whose static local keeps
    counting); a global keeps its running value."""
    table = 'const char *(*const describer)(const char *) = describe;\n'
    write(os.path.join(project, 'src', 'stats.c'), STATS_V1 + table)
    scons(project, 'dsu=1', 'version=v1')
    shutil.copy(os.path.join(project, 'wordsvc'), os.path.join(project, 'wordsvc.v1'))
    p = program(os.path.join(project, 'wordsvc.v1'))
    assert p.ask('hello') == 'hello: 5 letters, word 1'
    write(os.path.join(project, 'src', 'stats.c'), STATS_V1.replace('word %d', '#%d') + table)
    scons(project, 'dsu=1', 'version=v2')
    out = scons(project, 'patch', 'from=v1', 'to=v2').stdout
    assert 'function   words' not in out and 'function   main' not in out, out
    out = scons(project, 'patch', 'from=v1', 'to=v2', 'full=1').stdout
    for name, where in (('main', 'main.c:8'), ('words', 'stats.c:8')):
        assert 'changed function   %s (src/%s): replaced in full' % (name, where) in out, out
    assert 'changed function   describe (src/stats.c:14)\n' in out, out
    assert 'kept value         reply (src/stats.c:6)' in out, out
    # a constant that points into the program: new storage, filled at apply time
    assert 'changed constant   describer (src/stats.c:19): replaced in full: new ' \
        'storage with its value' in out, out
    r = dsu('apply', p.pid, os.path.join(project, 'wordsvc.v1-to-v2.patch.so'))
    assert r.returncode == 0, r.stderr
    assert p.ask('world') == 'world: 5 letters, #2'


def test_ordinary_build_is_unchanged(project, tmp_path):
    """Plain `scons` with the tool builds the same binary as without it."""
    scons(project)
    with_tool = open(os.path.join(project, 'wordsvc'), 'rb').read()
    plain = str(tmp_path / 'plain')
    shutil.copytree(project, plain, ignore=shutil.ignore_patterns(
        'site_scons', '*.o', 'wordsvc', '.sconsign*'))
    write(os.path.join(plain, 'SConstruct'),
          "env = Environment(tools=['default'], CPPPATH=[%r])\n"
          "env.Append(CFLAGS=['-O2', '-Wall'])\n"
          "env.Program('wordsvc', ['src/main.c', 'src/stats.c'])\n" % RUNTIME_INCLUDE)
    scons(plain)
    assert open(os.path.join(plain, 'wordsvc'), 'rb').read() == with_tool
    symbols = subprocess.run(['nm', os.path.join(project, 'wordsvc')],
                             capture_output=True, text=True).stdout
    assert 'dsu' not in symbols


def test_updateable_build_behaves_like_ordinary(project, program):
    scons(project)
    shutil.copy(os.path.join(project, 'wordsvc'), os.path.join(project, 'plain'))
    scons(project, 'dsu=1', 'version=v1')
    a, b = program(os.path.join(project, 'plain')), program(os.path.join(project, 'wordsvc'))
    for word in ('one', 'three', '', 'x' * 40):
        assert a.ask(word) == b.ask(word)


def test_version_name_reused_for_other_sources_is_an_error(project):
    scons(project, 'dsu=1', 'version=v1')
    write(os.path.join(project, 'src', 'stats.c'), STATS_V2)
    r = scons(project, 'dsu=1', 'version=v1', check=False)
    assert r.returncode != 0
    assert "version 'v1' of wordsvc was already recorded from different sources" in r.stderr


def test_default_version_name_from_content(project):
    scons(project, 'dsu=1')
    versions = dsu('versions', project).stdout
    assert versions.startswith('h') and 'wordsvc' in versions


def test_header_edit_reruns_only_dependent_units(project):
    scons(project, 'dsu=1', 'version=v1')
    with open(os.path.join(project, 'src', 'stats.h'), 'a') as f:
        f.write('int unused_declaration(void);\n')
    out = scons(project, 'dsu=1', 'version=v1b').stdout
    assert 'src/main.c' in out and 'src/stats.c' in out
    write(os.path.join(project, 'src', 'stats.c'), STATS_V1 + '\n/* edit */\n')
    out = scons(project, 'dsu=1', 'version=v1c').stdout
    assert 'src/stats.c' in out and 'src/main.c' not in out


def test_pass_error_names_users_file_and_line(project):
    # typeof in a return type: neither in a body nor in a declaration the
    # pass could keep as written
    write(os.path.join(project, 'src', 'stats.c'),
          STATS_V1 + '\n\n__typeof__(0) spin(void)\n{\n    return 0;\n}\n')
    r = scons(project, 'dsu=1', 'version=bad', check=False)
    assert r.returncode != 0
    line = STATS_V1.count('\n') + 3
    assert 'src/stats.c:%d:' % line in r.stderr
    assert 'typeof is not supported' in r.stderr


def test_patch_needs_from_and_to(project):
    r = scons(project, 'patch', check=False)
    assert r.returncode != 0 and 'from=VERSION and to=VERSION' in r.stderr


def test_change_to_a_fixed_struct_is_refused_naming_type_and_file(project):
    write(os.path.join(project, 'src', 'stats.c'),
          STATS_V1 + '\n#include <dsu.h>\nstruct tally { int words; } DSU_FIXED;\n'
          'struct tally totals;\n')
    scons(project, 'dsu=1', 'version=v1')
    write(os.path.join(project, 'src', 'stats.c'),
          STATS_V1 + '\n#include <dsu.h>\nstruct tally { int words; long letters; } DSU_FIXED;\n'
          'struct tally totals;\n')
    scons(project, 'dsu=1', 'version=v2')
    r = scons(project, 'patch', 'from=v1', 'to=v2', check=False)
    assert r.returncode != 0
    assert 'src/stats.c:%d' % (STATS_V1.count('\n') + 3) in r.stderr
    assert 'struct tally changed, but its layout cannot change in a patch: ' \
        'it is marked DSU_FIXED' in r.stderr


def test_change_to_a_struct_whose_layout_is_observed_is_refused_with_the_reason(project):
    observed = ('\n#include <stddef.h>\nstruct tally { int words; %s};\n'
                'size_t where_words(void) { return offsetof(struct tally, words); }\n')
    write(os.path.join(project, 'src', 'stats.c'), STATS_V1 + observed % '')
    scons(project, 'dsu=1', 'version=v1')
    write(os.path.join(project, 'src', 'stats.c'), STATS_V1 + observed % 'long letters; ')
    scons(project, 'dsu=1', 'version=v2')
    r = scons(project, 'patch', 'from=v1', 'to=v2', check=False)
    assert r.returncode != 0
    line = STATS_V1.count('\n') + 3
    assert 'src/stats.c:%d' % line in r.stderr
    assert 'struct tally changed, but its layout cannot change in a patch: its layout ' \
        'is observed (offsetof at src/stats.c:%d)' % (line + 1) in r.stderr


def test_struct_whose_bytes_are_written_is_kept_fixed_not_refused(project):
    saved = ('\n#include <unistd.h>\nstruct tally { int words; %s};\n'
             'int save(int fd, struct tally *t) { return write(fd, t, sizeof *t); }\n')
    write(os.path.join(project, 'src', 'stats.c'), STATS_V1 + saved % '')
    scons(project, 'dsu=1', 'version=v1')
    line = STATS_V1.count('\n') + 3
    with open(os.path.join(project, '.dsu', 'fixed.json')) as f:
        fixed = json.load(f)['struct tally@src/stats.c']
    assert fixed == {'name': 'struct tally', 'file': 'src/stats.c', 'line': line,
                     'reason': 'its bytes leave the program (write at src/stats.c:%d)'
                     % (line + 1)}
    write(os.path.join(project, 'src', 'stats.c'), STATS_V1 + saved % 'long letters; ')
    scons(project, 'dsu=1', 'version=v2')
    r = scons(project, 'patch', 'from=v1', 'to=v2', check=False)
    assert r.returncode != 0
    assert 'src/stats.c:%d' % line in r.stderr
    assert 'struct tally changed, but its layout cannot change in a patch: its bytes ' \
        'leave the program (write at src/stats.c:%d)' % (line + 1) in r.stderr


def test_struct_a_new_version_starts_writing_out_cannot_be_patched(project):
    """v1 wraps the struct; v2 writes its bytes, so v2 keeps the ordinary
    layout: the running objects are bigger than v2's code thinks."""
    plain = '\n#include <unistd.h>\nstruct tally { int words; };\nstruct tally totals;\n'
    write(os.path.join(project, 'src', 'stats.c'), STATS_V1 + plain)
    scons(project, 'dsu=1', 'version=v1')
    write(os.path.join(project, 'src', 'stats.c'), STATS_V1 + plain + (
        'int save(int fd) { return write(fd, &totals, sizeof totals); }\n'))
    scons(project, 'dsu=1', 'version=v2')
    r = scons(project, 'patch', 'from=v1', 'to=v2', check=False)
    assert r.returncode != 0
    line = STATS_V1.count('\n') + 3
    assert 'src/stats.c:%d' % line in r.stderr
    assert 'struct tally has room to grow in version v1 but keeps its ordinary layout ' \
        'in version v2 (its bytes leave the program (write at src/stats.c:%d))' % (
            line + 2) in r.stderr


def test_installed_copy_is_patched_without_build_tree(project, program, tmp_path):
    """The running program needs nothing from the build tree."""
    scons(project, 'dsu=1', 'version=v1')
    elsewhere = tmp_path / 'opt'
    elsewhere.mkdir()
    shutil.copy(os.path.join(project, 'wordsvc'), elsewhere / 'wordsvc')
    write(os.path.join(project, 'src', 'stats.c'), STATS_V2)
    scons(project, 'dsu=1', 'version=v2')
    scons(project, 'patch', 'from=v1', 'to=v2')
    shutil.copy(os.path.join(project, 'wordsvc.v1-to-v2.patch.so'), elsewhere / 'p.so')
    shutil.rmtree(project)
    p = program(str(elsewhere / 'wordsvc'))
    assert p.ask('a') == 'a: 1 letters, word 1'
    assert dsu('apply', p.pid, elsewhere / 'p.so').returncode == 0
    assert p.ask('ab') == 'ab: 2 letters, 1 vowels, word 2, total vowels 1001'


def test_unchanged_unit_is_not_parsed_again(project):
    """A unit whose preprocessed text is unchanged comes from .dsu/cache."""
    scons(project, 'dsu=1', 'version=v1')
    cache = os.path.join(project, '.dsu', 'cache')
    entries = [f for f in os.listdir(cache) if f.endswith('.c')]
    assert len(entries) == 2
    for name in entries:                      # mark what the cache hands back
        with open(os.path.join(cache, name), 'a') as f:
            f.write('/* from the cache */\n')
    scons(project)                            # an ordinary build in between
    scons(project, 'dsu=1', 'version=v1')
    gen = os.path.join(project, '.dsu', 'gen', 'src')
    for name in ('main.o.dsu.c', 'stats.o.dsu.c'):
        with open(os.path.join(gen, name)) as f:
            assert f.read().endswith('/* from the cache */\n'), name
    # an edit misses the cache: that unit is parsed again
    write(os.path.join(project, 'src', 'stats.c'), STATS_V1 + '\nint edited;\n')
    scons(project, 'dsu=1', 'version=v2')
    with open(os.path.join(gen, 'stats.o.dsu.c')) as f:
        assert 'from the cache' not in f.read()


def test_patch_reads_what_the_builds_and_patches_kept(project, program, tmp_path):
    """`scons patch` parses no unit again that a build parsed: it reads
    the parses the two builds kept in .dsu/cache.  What it makes of each
    unit is kept too, and the next patch runs no pass over a unit it has
    seen.  A damaged entry is made again; the patch is the same each
    time, and it keeps the program's state."""
    scons(project, 'dsu=1', 'version=v1')
    shutil.copy(os.path.join(project, 'wordsvc'), os.path.join(project, 'wordsvc-v1'))
    write(os.path.join(project, 'src', 'stats.c'), STATS_V2)
    scons(project, 'dsu=1', 'version=v2')
    cache = os.path.join(project, '.dsu', 'cache')

    def kept(suffix, what='st_ino'):
        # an entry written again is a new file (files.write_atomic); a
        # hit only sets its time (cachelimit.touch)
        return {f: getattr(os.stat(os.path.join(cache, f)), what)
                for f in os.listdir(cache) if f.endswith(suffix)}
    parses = kept('.parse')
    before = kept('.parse', 'st_mtime_ns')
    assert len(parses) == 3            # main.c once (unchanged), stats.c twice
    assert not kept('.unit')

    def patch(*disabled):
        """scons patch, with the functions DISABLED ('module:name') made
        to stop the process."""
        stubs = tmp_path / 'stubs'
        stubs.mkdir(exist_ok=True)
        stop = 'lambda *a, **k: __import__("sys").exit("scons patch ran %s")'
        (stubs / 'sitecustomize.py').write_text(''.join(
            'import %s\n%s.%s = %s\n' % (m, m, name, stop % name)
            for m, name in (d.split(':') for d in disabled)))
        env = tool_env()
        env['PYTHONPATH'] = os.pathsep.join([str(stubs), env['PYTHONPATH']])
        r = subprocess.run([sys.executable, '-m', 'SCons', '-Q', 'patch', 'from=v1',
                            'to=v2'], cwd=project, env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        with open(os.path.join(project, 'wordsvc.v1-to-v2.patch.so'), 'rb') as f:
            return f.read()
    time.sleep(0.01)
    first = patch('pycparser.c_parser:CParser.parse')
    assert kept('.parse') == parses
    assert all(t > before[f] for f, t in kept('.parse', 'st_mtime_ns').items())
    units = kept('.unit')
    assert len(units) == 3
    assert patch('pycparser.c_parser:CParser.parse',
                 'dsu_tool.passes.driver:transform_unit') == first
    assert kept('.unit') == units
    for name in list(parses) + list(units):
        with open(os.path.join(cache, name), 'wb') as f:
            f.write(b'damaged')
    assert patch() == first
    assert all(parses[f] != v for f, v in kept('.parse').items() if f in parses)
    assert all(units[f] != v for f, v in kept('.unit').items())
    p = program(os.path.join(project, 'wordsvc-v1'))
    assert p.ask('a') == 'a: 1 letters, word 1'
    assert p.ask('b') == 'b: 1 letters, word 2'
    assert dsu('apply', p.pid, os.path.join(project, 'wordsvc.v1-to-v2.patch.so')
               ).returncode == 0
    assert p.ask('ab') == 'ab: 2 letters, 1 vowels, word 3, total vowels 1001'


def test_runtime_is_compiled_once_per_compiler(project, tmp_path):
    """A clean updateable build copies the runtime from the cache, which
    is keyed on the compiler's own version text."""
    cache = str(tmp_path / 'cache')
    env = dict(tool_env(), DSU_CACHE_DIR=cache)
    write(os.path.join(project, 'SConstruct'),
          "env = Environment(tools=['default', 'dsu'], CC=ARGUMENTS.get('CC', 'gcc'))\n"
          "env.Program('wordsvc', ['src/main.c', 'src/stats.c'])\n")

    def build(*extra):
        r = subprocess.run([sys.executable, '-m', 'SCons', '-Q', 'dsu=1'] + list(extra),
                           cwd=project, env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        return sorted(os.listdir(os.path.join(cache, 'runtime')))

    first = build()
    assert len(first) == 1
    kept = os.path.join(cache, 'runtime', first[0], 'libdsurt.a')
    marker = os.stat(kept).st_mtime_ns
    shutil.rmtree(os.path.join(project, '.dsu'))
    assert build() == first                   # a clean build: nothing compiled
    assert os.stat(kept).st_mtime_ns == marker
    with open(os.path.join(project, '.dsu', 'build', 'libdsurt.a'), 'rb') as f, \
            open(kept, 'rb') as g:
        assert f.read() == g.read()
    # another compiler (here: one that says another version) compiles it anew
    cc = str(tmp_path / 'othercc')
    write(cc, '#!/bin/sh\n[ "$1" = --version ] && { echo "othercc 1.0"; exit 0; }\n'
              'exec gcc "$@"\n')
    os.chmod(cc, 0o755)
    shutil.rmtree(os.path.join(project, '.dsu'))
    assert len(build('CC=' + cc)) == 2


def test_objects_and_libraries_built_explicitly(project, program):
    """`env.Program('x', env.Object(...) + env.Library(...))`: what the
    object builder returns is linked as it is in the ordinary build
    (no generated C compiled a second time, no manifest in the archive),
    also with the swig tool, which takes `.i` files as sources."""
    write(os.path.join(project, 'SConstruct'),
          "env = Environment(tools=['default', 'dsu', 'swig'])\n"
          "stats = env.Library('stats', env.Object('src/stats.c'))\n"
          "env.Program('wordsvc', env.Object('src/main.c') + stats)\n")
    out = scons(project, 'dsu=1', 'version=v1').stdout
    assert '.dsu.c' not in out.replace('dsu_tool.cc', '')
    members = subprocess.run(['ar', 't', os.path.join(project, 'libstats.a')],
                             capture_output=True, text=True, check=True).stdout.split()
    assert members == ['stats.o']
    p = program(os.path.join(project, 'wordsvc'))
    assert p.ask('hello') == 'hello: 5 letters, word 1'


@pytest.mark.parametrize('how', ['shared library', 'object built without the pass'])
def test_call_into_a_function_no_unit_of_the_program_defines(project, program, how):
    """main.c calls describe() through describe's slot.  Where no unit of
    the program defines describe (it is in a shared library the project
    builds, or in an object compiled without the pass), the version object
    gives the slot describe's address, and the call reaches it."""
    if how == 'shared library':
        build = ("lib = env.SharedLibrary('stats', ['src/stats.c'])\n"
                 "env.Program('wordsvc', ['src/main.c'], LIBS=[lib], "
                 "RPATH=[Dir('.').abspath])\n")
    else:
        subprocess.run(['gcc', '-O2', '-c', '-o', os.path.join(project, 'stats_plain.o'),
                        os.path.join(project, 'src', 'stats.c')], check=True)
        build = "env.Program('wordsvc', ['src/main.c', 'stats_plain.o'])\n"
    write(os.path.join(project, 'SConstruct'),
          "env = Environment(tools=['default', 'dsu'])\n"
          "env.Append(CFLAGS=['-O2', '-Wall'])\n" + build)
    scons(project, 'dsu=1', 'version=v1')
    main_o = os.path.join(project, 'src', 'main.o')
    undefined = subprocess.run(['nm', '--undefined-only', main_o], capture_output=True,
                               text=True, check=True).stdout.split()
    assert '__dsu_slot_describe' in undefined and 'describe' not in undefined
    p = program(os.path.join(project, 'wordsvc'))
    assert p.ask('hello') == 'hello: 5 letters, word 1'
    assert p.ask('world') == 'world: 5 letters, word 2'


def test_body_edit_under_a_recorded_name_is_an_error(project):
    """An edit that changes only a function's body (same definitions, same
    lines) still reaches the version record."""
    scons(project, 'dsu=1', 'version=v1')
    write(os.path.join(project, 'src', 'stats.c'),
          STATS_V1.replace('"%s: %zu letters, word %d"', '"%s: %zu chars, word %d"'))
    r = scons(project, 'dsu=1', 'version=v1', check=False)
    assert r.returncode != 0
    assert "version 'v1' of wordsvc was already recorded from different sources" in r.stderr


@pytest.mark.parametrize('args, option', [
    (('dsu=1', 'version=v"1'), 'version'), (('dsu=1', 'version=../../escape'), 'version'),
    (('dsu=1', 'version=-v'), 'version'), (('dsu=1', 'version=' + 'v' * 65), 'version'),
    (('patch', 'from=v1', 'to=v2\n'), 'to'), (('patch', 'from=.hidden', 'to=v2'), 'from'),
])
def test_bad_version_name_is_refused_before_anything_is_written(project, args, option):
    before = sorted(os.listdir(project))
    r = scons(project, *args, check=False)
    assert r.returncode != 0
    assert "%s='" % option in r.stderr and 'is not a valid version name' in r.stderr
    assert "letters, digits, '.', '_', '-' and '+', not starting with '.' or '-'" in r.stderr
    assert sorted(os.listdir(project)) == before          # no .dsu, no objects, no dsu/


def test_unusual_allowed_version_names_work_end_to_end(project, program):
    """Names with every allowed punctuation: recorded, patched, applied,
    reported by the runtime and accepted by `dsu check --against`."""
    v1, v2 = 'v1.0+rc_2-a', '2026.11_b+build-7'
    scons(project, 'dsu=1', 'version=' + v1)
    shutil.copy(os.path.join(project, 'wordsvc'), os.path.join(project, 'wordsvc.old'))
    p = program(os.path.join(project, 'wordsvc.old'))
    assert p.ask('hello') == 'hello: 5 letters, word 1'
    write(os.path.join(project, 'src', 'stats.c'), STATS_V2)
    scons(project, 'dsu=1', 'version=' + v2)
    scons(project, 'patch', 'from=' + v1, 'to=' + v2)
    patch = os.path.join(project, 'wordsvc.%s-to-%s.patch.so' % (v1, v2))
    check = dsu('check', patch, '--against', v1, '--project', project)
    assert check.returncode == 0, check.stderr
    bad = dsu('check', patch, '--against', '../' + v1, '--project', project)
    assert bad.returncode == 2 and 'not a valid version name' in bad.stderr
    r = dsu('apply', p.pid, patch)
    assert r.returncode == 0, r.stderr
    assert '%s -> %s' % (v1, v2) in r.stdout
    assert p.ask('update') == 'update: 6 letters, 3 vowels, word 2, total vowels 1003'
    status = dsu('status', p.pid).stdout
    assert v2 in status and v1 in status
