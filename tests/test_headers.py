"""frontend.headers: the parse of the headers a unit starts with is kept
between units and builds, and a unit parsed with it gives the tree, coordinates and
messages a parse of its whole text gives."""

import os

import pytest
from pycparser import c_ast

from dsu_tool.frontend import headers
from dsu_tool.frontend.parse import parse_text
from dsu_tool.frontend.preprocess import PROJECT, run_cpp, split
from dsu_tool.passes.common import copy_tree
from dsu_tool.pickling import gc_paused

HEADER = '''#include <stddef.h>
typedef struct pair { size_t left, right; } pair_t;
pair_t swap(pair_t p);
'''

SOURCE = '''#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pair.h"

/* a name the headers made a type, as a variable in a block */
static int shadow(int n)
{
    int size_t = n * 2;
    return size_t + 1;
}

pair_t swap(pair_t p)
{
    pair_t q = { p.right, p.left };
    return q;
}

int main(int argc, char **argv)
{
    FILE *out = stdout;
    pair_t p = { (size_t)argc, strlen(argv[0]) };
    p = swap(p);
    fprintf(out, "%zu %zu %d\\n", p.left, p.right, shadow(argc));
    return 0;
}
'''


@pytest.fixture
def unit(tmp_path, monkeypatch):
    """The unit preprocessed in its project; the machine cache in TMP."""
    root = tmp_path / 'proj'
    root.mkdir()
    (root / 'pair.h').write_text(HEADER)
    (root / 'main.c').write_text(SOURCE)
    monkeypatch.setenv('DSU_CACHE_DIR', str(tmp_path / 'cache'))
    monkeypatch.delenv('DSU_HEADER_CACHE', raising=False)
    monkeypatch.chdir(root)
    return str(root)


def _pre(root, text=None):
    if text is not None:
        with open(os.path.join(root, 'main.c'), 'w') as f:
            f.write(text)
    return split(run_cpp('gcc', ['-O2'], 'main.c', cwd=root), 'main.c', root, cwd=root)


def _parse(pre, cache):
    os.environ['DSU_HEADER_CACHE'] = '1' if cache else '0'
    try:
        with gc_paused():
            return parse_text(pre)
    finally:
        del os.environ['DSU_HEADER_CACHE']


def _differ(a, b, path='unit'):
    """Where trees A and B differ (slots, lists, coordinates), or None."""
    if type(a) is not type(b):
        return '%s: %s / %s' % (path, type(a).__name__, type(b).__name__)
    if isinstance(a, c_ast.Node):
        for slot in a.__slots__:
            if slot != '__weakref__':
                found = _differ(getattr(a, slot), getattr(b, slot), path + '.' + slot)
                if found:
                    return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return '%s: %d / %d items' % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            found = _differ(x, y, '%s[%d]' % (path, i))
            if found:
                return found
        return None
    if hasattr(a, 'line') and hasattr(a, 'file'):
        same = (a.file, a.line, a.column) == (b.file, b.line, b.column)
        return None if same else '%s: %s / %s' % (path, a, b)
    return None if a == b else '%s: %r / %r' % (path, a, b)


def _entries():
    d = headers.directory()
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_a_unit_parsed_after_its_kept_headers_is_the_whole_parse(unit):
    pre = _pre(unit)
    whole = _parse(pre, cache=False)
    assert _entries() == []
    first = _parse(pre, cache=True)         # parses the headers and keeps them
    assert len(_entries()) == 1
    again = _parse(pre, cache=True)         # reads them back
    for other in (first, again):
        assert _differ(whole.ast, other.ast) is None, _differ(whole.ast, other.ast)
        assert other.project_files == whole.project_files
        assert other.as_written.keys() == whole.as_written.keys()
    # the kept part is most of the text: the system headers
    lines = pre.text.split('\n')
    at = headers.split_point(lines, pre.origins)
    assert at > len(lines) * 0.8
    # the program's own declarations carry their own places
    own = [(e.decl.name, e.coord.file, e.coord.line) for e in again.ast.ext
           if isinstance(e, c_ast.FuncDef)]
    assert own[-3:] == [('shadow', 'main.c', 7), ('swap', 'main.c', 13), ('main', 'main.c', 19)]
    typedef = [e for e in again.ast.ext if isinstance(e, c_ast.Typedef) and e.name == 'pair_t']
    assert [(e.coord.file, e.coord.line) for e in typedef] == [('pair.h', 2)]


def test_each_read_gives_a_tree_of_its_own(unit):
    pre = _pre(unit)
    a = _parse(pre, cache=True)
    b = _parse(pre, cache=True)
    assert not {id(e) for e in a.ast.ext} & {id(e) for e in b.ast.ext}
    # changing one leaves the next read alone
    a.ast.ext[0].name = 'changed'
    c = _parse(pre, cache=True)
    assert _differ(b.ast, c.ast) is None


def test_code_the_parser_cannot_take_is_told_at_its_place(unit):
    """A function and a declaration the parser cannot take are kept as
    written, with the parser's message and place, as in a whole parse."""
    pre = _pre(unit, SOURCE.replace('return q;', 'return q q;') + 'int broken broken;\n')
    whole, kept = _parse(pre, cache=False), _parse(pre, cache=True)
    assert _entries()
    records = [sorted(repr(r.to_json()) for r in list(u.as_written.values()) +
                      u.raw_declarations) for u in (whole, kept)]
    assert records[0] == records[1]
    assert len(records[0]) == 2, records[0]
    assert "'name': 'broken'" in records[0][0] and "'line': 27" in records[0][0]
    assert "'name': 'swap'" in records[0][1] and "'line': 16" in records[0][1]


def test_a_damaged_entry_is_parsed_again(unit):
    pre = _pre(unit)
    whole = _parse(pre, cache=False)
    _parse(pre, cache=True)
    (entry,) = _entries()
    with open(os.path.join(headers.directory(), entry), 'wb') as f:
        f.write(b'not a kept parse')
    again = _parse(pre, cache=True)
    assert _differ(whole.ast, again.ast) is None


def test_other_headers_are_other_entries_and_the_bound_holds(unit, monkeypatch):
    _parse(_pre(unit), cache=True)
    _parse(_pre(unit, '#include <signal.h>\n' + SOURCE), cache=True)
    assert len(_entries()) == 2
    sizes = [os.path.getsize(os.path.join(headers.directory(), e)) for e in _entries()]
    monkeypatch.setenv('DSU_CACHE_SIZE', str(max(sizes)))
    _parse(_pre(unit, '#include <time.h>\n' + SOURCE), cache=True)
    assert len(_entries()) == 1          # the newest alone fits


def test_turned_off_nothing_is_kept(unit):
    _parse(_pre(unit), cache=False)
    assert _entries() == []


def test_a_unit_without_headers_first_is_parsed_whole(unit):
    # the program's code starts at once: nothing worth keeping
    pre = _pre(unit, 'int first;\n' + SOURCE)
    tree = _parse(pre, cache=True)
    assert _entries() == []
    assert _differ(_parse(pre, cache=False).ast, tree.ast) is None


def test_the_copy_of_a_tree_is_deepcopys(unit):
    """passes.common.copy_tree, which the passes use on parsed trees."""
    import copy
    tree = _parse(_pre(unit), cache=False).ast
    assert _differ(copy.deepcopy(tree), copy_tree(tree)) is None
    # a struct shared by the declarators of one declaration stays shared
    from pycparser import c_parser
    ast = c_parser.CParser().parse('struct s { int a; } x, *y;')
    dup = copy_tree(ast)
    assert dup.ext[0].type.type is dup.ext[1].type.type.type
    assert dup.ext[0].type.type is not ast.ext[0].type.type


def test_the_kept_headers_are_what_the_unit_gets(unit):
    """The unit is not parsed whole again: a (doctored) entry shows in it."""
    pre = _pre(unit)
    _parse(pre, cache=True)
    (entry,) = _entries()
    path = os.path.join(headers.directory(), entry)
    ext, names = headers._read(path)
    typedefs = [e for e in ext if isinstance(e, c_ast.Typedef) and e.name == 'size_t']
    typedefs[0].type.type.names = ['unsigned', 'char']
    headers._write(path, ext, names)
    tree = _parse(pre, cache=True).ast
    (size_t,) = [e for e in tree.ext if isinstance(e, c_ast.Typedef) and e.name == 'size_t']
    assert size_t.type.type.names == ['unsigned', 'char']


def test_units_that_start_with_the_same_headers_share_an_entry(unit):
    pre = _pre(unit)
    _parse(pre, cache=True)
    # another unit, another name, the same headers first
    with open(os.path.join(unit, 'other.c'), 'w') as f:
        f.write(SOURCE.replace('shadow', 'darken'))
    other = split(run_cpp('gcc', ['-O2'], 'other.c', cwd=unit), 'other.c', unit, cwd=unit)
    whole = _parse(other, cache=False)
    kept = _parse(other, cache=True)
    assert len(_entries()) == 1
    assert _differ(whole.ast, kept.ast) is None, _differ(whole.ast, kept.ast)
    own = [(e.decl.name, e.coord.file) for e in kept.ast.ext if isinstance(e, c_ast.FuncDef)]
    assert own[-3:] == [('darken', 'other.c'), ('swap', 'other.c'), ('main', 'other.c')]


def test_a_prefix_with_code_of_the_unit_itself_is_not_kept(unit):
    """Were the unit's own code in the part kept (lines of it taken for
    outside code), the kept tree would place it in the name shared by
    every unit: such a prefix is not kept, and the unit is parsed whole."""
    from dsu_tool.frontend.gnu import PARSER_PRELUDE
    from dsu_tool.frontend.preprocess import EXTERNAL, Preprocessed
    own = ['int early%d;' % i for i in range(120)]
    text = ['# 1 "main.c"'] + own + ['# 1 "pair.h" 1', 'typedef int pair_t;',
                                     '# 3 "main.c" 2', 'pair_t p;']
    origins = [EXTERNAL] * (1 + len(own)) + [PROJECT] * 4
    pre = Preprocessed('main.c', '\n'.join(text), origins, [None] * len(text))
    head = '# 1 "<dsu-builtins>"\n' + PARSER_PRELUDE + '# 1 "main.c"\n'
    assert headers.parse(head, '\n'.join(text), pre) is None
    assert _entries() == []
