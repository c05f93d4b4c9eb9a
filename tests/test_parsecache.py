"""frontend.parsecache: the kept parse of a unit is read back only for the
very same input, and reads back as the tree a fresh parse gives."""

import dataclasses
import os
import subprocess

from dsu_tool import cc
from dsu_tool.codegen.cgen import CGen
from dsu_tool.codegen.unit import RUNTIME_INCLUDE
from dsu_tool.frontend import parsecache
from dsu_tool.frontend.aswritten import function_spans
from dsu_tool.frontend.errors import DsuError
from dsu_tool.frontend.parse import parse_text
from dsu_tool.frontend.preprocess import run_cpp, split
from dsu_tool.passes.driver import transform_pre

SOURCE = r'''
#include <stdio.h>
#include "pair.h"

struct tally {
    int hits;
#pragma pack(push, 1)
    char tag;
#pragma pack(pop)
    long total;
};

static struct tally t;

int bump(int n)
{
    static int calls;
    t.hits += n;
    return ++calls;
}

int main(void)
{
    printf("%d\n", bump(PAIR));
    return 0;
}
'''


def unit_pre(tmp_path, source=SOURCE, flags=()):
    (tmp_path / 'pair.h').write_text('#define PAIR 2\n')
    (tmp_path / 'u.c').write_text(source)
    text = run_cpp('gcc', list(flags), str(tmp_path / 'u.c'))
    return split(text, 'u.c', str(tmp_path), str(tmp_path))


def test_key_covers_every_input(tmp_path, monkeypatch):
    pre = unit_pre(tmp_path)
    root = cwd = str(tmp_path)
    base = parsecache.cache_key(pre, [], root, cwd)
    assert parsecache.cache_key(pre, [], root, cwd) == base
    span = function_spans(pre)[0]
    changed = [
        parsecache.cache_key(unit_pre(tmp_path, SOURCE + 'int more;\n'), [], root, cwd),
        parsecache.cache_key(unit_pre(tmp_path, flags=['-DEXTRA=1']), [], root, cwd),
        parsecache.cache_key(dataclasses.replace(pre, source='v.c'), [], root, cwd),
        parsecache.cache_key(dataclasses.replace(pre, prelude=pre.prelude + ['#define X 1']),
                             [], root, cwd),
        parsecache.cache_key(pre, [(span, DsuError('refused'))], root, cwd),
        parsecache.cache_key(pre, [(span, DsuError('refused otherwise'))], root, cwd),
        parsecache.cache_key(pre, [], root + '/sub', cwd),
        parsecache.cache_key(pre, [], root, cwd + '/sub'),
    ]
    monkeypatch.setattr(cc, '_digest', ['another version of the tool'])
    changed.append(parsecache.cache_key(pre, [], root, cwd))
    assert base not in changed and len(set(changed)) == len(changed)


def test_kept_parse_is_the_fresh_parse(tmp_path):
    """Read back, the tree regenerates as the fresh one does, the pragmas
    inside the struct come back to their members, and the pass makes the
    same program of it."""
    pre = unit_pre(tmp_path)
    root = str(tmp_path)
    fresh = parse_text(pre)
    assert fresh.member_pragmas
    made = parsecache.parse(pre, [], root, root, root)         # parsed and kept
    entries = [f for f in os.listdir(tmp_path / '.dsu' / 'cache') if f.endswith('.parse')]
    assert len(entries) == 1
    read = parsecache.parse(pre, [], root, root, root)         # read back
    assert read is not made and read.ast is not made.ast
    assert len(read.member_pragmas) == len(fresh.member_pragmas)
    plain = CGen(lines=False)
    assert plain.visit(read.ast) == plain.visit(fresh.ast)

    def program(parse):
        return transform_pre(pre, 'u.c', str(tmp_path / 'u.dsu.c'), parse=parse)[1]
    kept = program(lambda p, d: parsecache.parse(p, d, root, root, root))
    assert kept == program(parse_text)
    assert '#pragma pack(push, 1)' in kept
    out = tmp_path / 'u.o'
    r = subprocess.run(['gcc', '-c', '-I', RUNTIME_INCLUDE, '-x', 'c', '-', '-o', str(out)],
                       input=kept, text=True,
                       capture_output=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_damaged_entry_is_a_miss(tmp_path):
    pre = unit_pre(tmp_path)
    root = str(tmp_path)
    parsecache.parse(pre, [], root, root, root)
    path = os.path.join(root, parsecache.CACHE,
                        parsecache.cache_key(pre, [], root, root) + '.parse')
    with open(path, 'r+b') as f:
        f.truncate(100)
    unit = parsecache.parse(pre, [], root, root, root)
    assert CGen(lines=False).visit(unit.ast) == CGen(lines=False).visit(parse_text(pre).ast)
    assert os.path.getsize(path) > 100          # kept again, whole


def test_kept_unit_key_covers_every_input(tmp_path, monkeypatch):
    """What the patch generator makes of a recorded unit (patchgen.load)
    is read back only for the same preprocessed text, the same manifest
    (flags, places, passes, the structs kept unwrapped, their sizes) and
    the same tool."""
    from dsu_tool.patchgen.load import _kept_path
    i_path = tmp_path / 'u.o.dsu.i'
    i_path.write_text('int x;\n')
    manifest = {'tu': 'u.c', 'cpp_args': ['-O2'], 'passes': ['wrap'],
                'structs': [{'key': 's', 'wrapped': False, 'reason': 'as written'}]}
    root = str(tmp_path)
    base = _kept_path(manifest, str(i_path), root)
    assert base == _kept_path(dict(manifest), str(i_path), root)
    changed = [
        _kept_path(dict(manifest, cpp_args=['-O2', '-DX']), str(i_path), root),
        _kept_path(dict(manifest, passes=['promote']), str(i_path), root),
        _kept_path(dict(manifest, structs=[{'key': 's', 'wrapped': True}]), str(i_path), root),
        _kept_path(dict(manifest, structs=[dict(manifest['structs'][0], size=8)]),
                   str(i_path), root),
    ]
    i_path.write_text('int y;\n')
    changed.append(_kept_path(manifest, str(i_path), root))
    i_path.write_text('int x;\n')
    monkeypatch.setattr(cc, '_digest', ['another version of the tool'])
    changed.append(_kept_path(manifest, str(i_path), root))
    assert base not in changed and len(set(changed)) == len(changed)
    assert _kept_path(manifest, str(i_path), None) is None        # no cache
