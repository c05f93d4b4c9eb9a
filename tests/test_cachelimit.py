"""The bound on .dsu/cache: entries used longest ago go first, a pruned
cache costs a parse and never a wrong build or patch, a bad bound is
said and the build goes on."""

import os
import shutil
import time

import pytest

from conftest import dsu, scons
from dsu_tool.cachelimit import limit, prune
from dsu_tool.frontend.errors import DsuError
from test_scons import STATS_V2, project, write  # noqa: F401 (fixture)


@pytest.mark.parametrize('text,value', [('', 1 << 30), ('0', 0), ('4096', 4096),
                                        ('500M', 500 << 20), ('2g', 2 << 30),
                                        (' 7K ', 7 << 10)])
def test_bound_is_read_from_the_environment(text, value):
    assert limit({'DSU_CACHE_SIZE': text}) == value


@pytest.mark.parametrize('text', ['-1', '1.5G', 'lots', 'M', '10T'])
def test_unreadable_bound_is_an_error_naming_it(text):
    with pytest.raises(DsuError, match="DSU_CACHE_SIZE is '%s'" % text.replace('.', r'\.')):
        limit({'DSU_CACHE_SIZE': text})


def _entry(cache, name, size, age):
    path = os.path.join(cache, name)
    with open(path, 'wb') as f:
        f.write(b'x' * size)
    when = time.time() - age
    os.utime(path, (when, when))
    return path


def test_prune_removes_the_entries_used_longest_ago(tmp_path):
    cache = tmp_path / '.dsu' / 'cache'
    cache.mkdir(parents=True)
    old = _entry(cache, 'a.parse', 1000, 300)
    older = _entry(cache, 'b.unit', 1000, 400)
    new = _entry(cache, 'c.parse', 1000, 10)
    writing = _entry(cache, '.d.parse.x1.tmp', 5000, 5)     # a build writes it now
    stale = _entry(cache, '.e.parse.x2.tmp', 100, 7200)      # one killed long ago
    assert prune(str(tmp_path), 2500) == 1100
    left = set(os.listdir(cache))
    assert left == {os.path.basename(p) for p in (old, new, writing)}
    assert not os.path.exists(older) and not os.path.exists(stale)
    assert prune(str(tmp_path), 1 << 20) == 0
    assert prune(str(tmp_path / 'nowhere'), 0) == 0


def _cache_bytes(project):
    cache = os.path.join(project, '.dsu', 'cache')
    return sum(os.path.getsize(os.path.join(cache, n)) for n in os.listdir(cache)) \
        if os.path.isdir(cache) else 0


def test_bounded_cache_still_builds_and_patches(project, program, monkeypatch):
    """A build and a patch with a small bound leave the cache within it;
    the patch, whose version's parses were pruned, parses them again and
    is applied live."""
    scons(project, 'dsu=1', 'version=v1')
    unbounded = _cache_bytes(project)
    assert unbounded > 0
    shutil.copy(os.path.join(project, 'wordsvc'), os.path.join(project, 'wordsvc.v1'))
    bound = unbounded // 3
    monkeypatch.setenv('DSU_CACHE_SIZE', str(bound))
    write(os.path.join(project, 'src', 'stats.c'), STATS_V2)
    scons(project, 'dsu=1', 'version=v2')
    assert _cache_bytes(project) <= bound
    p = program(os.path.join(project, 'wordsvc.v1'))
    assert p.ask('hello') == 'hello: 5 letters, word 1'
    scons(project, 'patch', 'from=v1', 'to=v2')
    assert _cache_bytes(project) <= bound
    r = dsu('apply', p.pid, os.path.join(project, 'wordsvc.v1-to-v2.patch.so'))
    assert r.returncode == 0, r.stderr
    assert p.ask('again') == 'again: 5 letters, 3 vowels, word 2, total vowels 1003'
    monkeypatch.setenv('DSU_CACHE_SIZE', '0')
    scons(project, 'patch', 'from=v1', 'to=v2')
    assert _cache_bytes(project) == 0


def test_bad_bound_is_said_and_the_build_goes_on(project, program, monkeypatch):
    monkeypatch.setenv('DSU_CACHE_SIZE', 'plenty')
    r = scons(project, 'dsu=1', 'version=v1')
    assert "DSU_CACHE_SIZE is 'plenty'" in r.stdout + r.stderr
    assert 'Traceback' not in r.stderr
    assert _cache_bytes(project) > 0
    p = program(os.path.join(project, 'wordsvc'))
    assert p.ask('hello') == 'hello: 5 letters, word 1'
