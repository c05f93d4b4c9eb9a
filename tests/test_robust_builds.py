"""Builds that meet what real builds meet: link-time optimisation, a build
interrupted while writing its cache, a damaged .dsu/layouts.json.  Each
ends in a working build or in a message, never in a Python traceback."""

import json
import os
import shutil

import pytest

from conftest import dsu, scons
from dsu_tool.files import write_atomic
from dsu_tool.frontend.errors import DsuError
from dsu_tool.model.structs import load_layouts, record_layouts
from test_scons import STATS_V1, STATS_V2, project, write  # noqa: F401 (fixture)

# A wrapped struct, so that the build measures and keeps a layout.
TALLY = '\nstruct tally { int words; long letters; };\nstruct tally totals;\n'


def _sconstruct(project, flags):
    write(os.path.join(project, 'SConstruct'),
          "env = Environment(tools=['default', 'dsu'])\n"
          "env.Append(CCFLAGS=%r, LINKFLAGS=%r)\n"
          "env.Program('wordsvc', ['src/main.c', 'src/stats.c'])\n" % (flags, flags))


@pytest.mark.parametrize('flags', [['-O2', '-flto'], ['-O2', '-flto=auto']])
def test_lto_build_is_updated_live(project, program, flags):
    """-flto in CCFLAGS: the build works, and so does a live update."""
    _sconstruct(project, flags)
    write(os.path.join(project, 'src', 'stats.c'), STATS_V1 + TALLY)
    r = scons(project, 'dsu=1', 'version=v1', check=False)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    shutil.copy(os.path.join(project, 'wordsvc'), os.path.join(project, 'wordsvc.v1'))
    p = program(os.path.join(project, 'wordsvc.v1'))
    assert p.ask('hello') == 'hello: 5 letters, word 1'
    write(os.path.join(project, 'src', 'stats.c'), STATS_V2 + TALLY)
    scons(project, 'dsu=1', 'version=v2')
    scons(project, 'patch', 'from=v1', 'to=v2')
    r = dsu('apply', p.pid, os.path.join(project, 'wordsvc.v1-to-v2.patch.so'))
    assert r.returncode == 0, r.stderr
    assert p.ask('again') == 'again: 5 letters, 3 vowels, word 2, total vowels 1003'


def test_truncated_cache_manifest_is_rebuilt(project, program):
    """A build killed while writing a cache entry: the next builds of that
    unit transform it again and rewrite the entry."""
    scons(project, 'dsu=1', 'version=v1')
    cache = os.path.join(project, '.dsu', 'cache')
    for name in os.listdir(cache):
        if name.endswith('.json'):
            path = os.path.join(cache, name)
            with open(path) as f:
                text = f.read()
            with open(path, 'w') as f:
                f.write(text[:len(text) // 2])
    shutil.rmtree(os.path.join(project, '.dsu', 'gen'))   # the objects must be redone
    for _ in range(2):
        r = scons(project, 'dsu=1', 'version=v1', check=False)
        assert r.returncode == 0, r.stderr[-2000:]
        assert 'Traceback' not in r.stderr
    for name in os.listdir(cache):
        if name.endswith('.json'):
            with open(os.path.join(cache, name)) as f:
                json.load(f)                                # whole again
    p = program(os.path.join(project, 'wordsvc'))
    assert p.ask('hello') == 'hello: 5 letters, word 1'


@pytest.mark.parametrize('content', ['{"struct tally@src/stats.c": {"si', '[]', ''])
def test_corrupt_layouts_file_stops_the_build_naming_it(project, content):
    write(os.path.join(project, 'src', 'stats.c'), STATS_V1 + TALLY)
    scons(project, 'dsu=1', 'version=v1')
    layouts = os.path.join(project, '.dsu', 'layouts.json')
    with open(layouts, 'w') as f:
        f.write(content)
    write(os.path.join(project, 'src', 'stats.c'), STATS_V2 + TALLY)
    r = scons(project, 'dsu=1', 'version=v2', check=False)
    assert r.returncode != 0
    assert 'Traceback' not in r.stderr
    assert '%s is corrupt' % layouts in r.stderr
    assert 'restore it' in r.stderr
    with open(layouts) as f:
        assert f.read() == content                          # left as it was


def test_layouts_survive_a_write_that_fails_midway(tmp_path):
    """The layouts file is replaced by a rename: a failure while writing
    (here: a value that cannot be written) leaves the old file whole."""
    root = str(tmp_path)
    record_layouts(root, {'struct a@x.c': {'size': 40, 'tag_offset': 32}})

    class Unwritable:
        pass
    with pytest.raises(TypeError):
        record_layouts(root, {'struct b@x.c': {'size': 48, 'tag_offset': Unwritable()}})
    assert load_layouts(root) == {'struct a@x.c': {'size': 40, 'tag_offset': 32}}
    assert sorted(os.listdir(os.path.join(root, '.dsu'))) == ['layouts.json',
                                                              'layouts.json.lock']


def test_missing_layouts_file_is_an_empty_table_and_unreadable_one_an_error(tmp_path):
    assert load_layouts(str(tmp_path)) == {}
    os.makedirs(str(tmp_path / '.dsu' / 'layouts.json'))   # a directory: cannot be read
    with pytest.raises(DsuError):
        load_layouts(str(tmp_path))


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    path = str(tmp_path / 'f')
    write_atomic(path, 'old')
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, 'new \udcff', encoding='utf-8')
    assert open(path).read() == 'old'
    assert os.listdir(str(tmp_path)) == ['f']
    os.umask(0o022)
    write_atomic(path, 'new')
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_version_of_a_build_that_never_linked_can_be_recorded_again(project, program):
    """The record is made before the link; when the link fails, fixing the
    sources and building the same name again just works.  Once a program
    was linked from a record, the name stays taken."""
    write(os.path.join(project, 'src', 'stats.c'),
          STATS_V1 + '\nint not_defined_anywhere(void);\n'
          'int call_it(void) { return not_defined_anywhere(); }\n')
    r = scons(project, 'dsu=1', 'version=v1', check=False)
    assert r.returncode != 0 and 'not_defined_anywhere' in r.stdout + r.stderr
    write(os.path.join(project, 'src', 'stats.c'), STATS_V1)
    r = scons(project, 'dsu=1', 'version=v1')
    assert 'replaces its record from a build that never linked' in r.stdout
    p = program(os.path.join(project, 'wordsvc'))
    assert p.ask('hello') == 'hello: 5 letters, word 1'
    write(os.path.join(project, 'src', 'stats.c'), STATS_V2)
    r = scons(project, 'dsu=1', 'version=v1', check=False)
    assert r.returncode != 0
    assert "version 'v1' of wordsvc was already recorded from different sources" in r.stderr


def test_static_link_is_reported_and_its_patch_refused(project):
    """-static: the program builds and runs, but nothing can be loaded
    into it: the build says so in place of a bare linker warning, and
    `scons patch` from that version refuses with the reason."""
    _sconstruct(project, ['-static'])
    out = scons(project, 'dsu=1', 'version=v1').stdout
    assert 'dsu: wordsvc: linked with -static (LINKFLAGS): it runs, but no patch can be ' \
        'loaded into it' in out
    write(os.path.join(project, 'src', 'stats.c'), STATS_V2)
    scons(project, 'dsu=1', 'version=v2')
    r = scons(project, 'patch', 'from=v1', 'to=v2', check=False)
    assert r.returncode != 0
    assert 'wordsvc v1 cannot take a patch: linked with -static' in r.stderr
