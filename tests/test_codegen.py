"""The C the pass regenerates is the program's C: declarations with
several declarators, brace-elided initialisers of wrapped structs,
layouts the program observes, and attribute attachment on large units.
Each program (tests/codegen/*.c) is built the ordinary way and
updateable, and both must print the same, and what C says."""

import os
import subprocess
import time

import pytest

from dsu_tool.codegen.cgen import AttributeMap
from dsu_tool.codegen.unit import RUNTIME_INCLUDE
from dsu_tool.frontend.errors import DsuError
from dsu_tool.frontend.gnu import Tidier
from dsu_tool.frontend.parse import parse_unit
from dsu_tool.frontend.preprocess import preprocess
from dsu_tool.passes import driver
from dsu_tool.model import structs
from test_frontend import build_and_run, build_and_run_updateable, transform

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'codegen')


def both_ways(tmp_path, name, args=()):
    with open(os.path.join(HERE, name)) as f:
        source = f.read()
    src, out, text, model = transform(tmp_path, source, name, args)
    plain = build_and_run(tmp_path, src, 'plain')
    assert build_and_run_updateable(tmp_path, out) == plain
    return plain, text, model


def test_declarators_keep_their_own_types_and_attributes(tmp_path):
    plain, text, _ = both_ways(tmp_path, 'declarators.c')
    assert plain == ('for 0 8\n'
                     'walk 3\n'
                     'values 5 4 5 5 4 1 5 3 6\n'
                     'cleanup 130\n'
                     'aligned 0 0 0 16 16 16 0\n')
    assert 'struct entry *e = t.slots[i], *n;' in text
    # the static function a cleanup attribute names is renamed with it
    assert 'cleanup(bump__dsu_declarators_c_' in text
    assert text.count('__attribute__((cleanup(bump__dsu_declarators_c_') == 3


def test_attributes_of_type_names_are_kept(tmp_path):
    plain, text, _ = both_ways(tmp_path, 'typenames.c')
    assert plain == '3 6 16 1082130432 7\n'
    assert '(__attribute__((vector_size((4)* sizeof(float)))) float){2., 2., 2., 2.}' in text


def test_parameters_keep_their_attributes_in_the_declarations_the_pass_writes(tmp_path):
    plain, text, _ = both_ways(tmp_path, 'vectorparams.c')
    assert plain == '5 5\n'
    slot = [l for l in text.splitlines() if l.startswith('extern float (*__dsu_slot_ends')]
    assert slot and 'float v __attribute__((vector_size(16)))' in slot[0]


def test_loop_using_a_vector_variable_is_left_in_place(tmp_path):
    plain, text, _ = both_ways(tmp_path, 'loopvector.c',
                               ['-DDSU_UPDATEABLE', '-I', RUNTIME_INCLUDE])
    assert plain == '3 12 16\n'
    assert '__dsu_loop_main' not in text


def test_brace_elided_initialisers_of_wrapped_structs(tmp_path):
    plain, text, _ = both_ways(tmp_path, 'braces.c')
    assert plain == ('arr 2: 1 2 3 4\n'
                     'o 5 6 7\n'
                     'strs 4 ab 1 cd 2 ef 0 3\n'
                     'w 1 2 3 4 65 8 9 10\n'
                     'wd 0 0 0 11 66 0 13 14\n'
                     'grid 1 4 5 8\n'
                     'byidx 3: 3 1 2 0\n'
                     'qs 2: 1 2 3 4 5 | 6 7 8 9 10\n'
                     'locals 21 22 23 | 31 32 33 | 3 5 | 51 52 53 | 41 42 43\n'
                     'whole 0\n'
                     'sized 3 6\n'
                     'ns x y 2 z 4\n'
                     'local type 1 2 3 | 2 9\n')
    # (a complete positional list names the room: -Wextra stays quiet)
    assert 'struct P arr[] = {{1, 2, .__dsu_room = {0}}, {3, 4, .__dsu_room = {0}}};' in text
    assert 'struct O o = {{5, 6, .__dsu_room = {0}}, 7' in text


def test_braces_that_cannot_be_restored_are_refused_at_their_line(tmp_path):
    with pytest.raises(DsuError) as e:
        transform(tmp_path, 'struct P { int a, b; };\n'
                  'extern int n;\n'
                  'struct Q { int m[sizeof(int) + 1]; struct P p; };\n'
                  'struct Q q = {1, 2, 3, 4, 5, 6, 7, 8};\n')
    assert e.value.file.endswith('unit.c') and e.value.line == 4
    assert 'cannot restore the braces' in str(e.value)


def test_observed_layouts_are_kept_as_in_the_ordinary_build(tmp_path):
    plain, text, model = both_ways(tmp_path, 'offsets.c')
    assert plain == '8 24 32 16\n8 24 3 3\n12 40 32\n'
    reasons = {d.name: d.reason for d in model.structs}
    assert reasons['struct List'].startswith('its layout is observed (offsetof at ')
    assert reasons['struct List'].endswith('offsets.c:23)')          # container_of
    assert reasons['struct O'].endswith('offsets.c:25)')
    assert reasons['struct P'].startswith('it is held by value in struct O, whose layout')
    assert reasons['struct Inner'].startswith('it is held by value in struct Mid')
    assert reasons['Outer'].startswith('its layout is observed (offsetof at ')
    assert reasons['struct Node'].startswith('it is held by value in struct List')
    assert reasons['struct Free'] is None                # not observed: wrapped
    assert '__dsu_room' in text.split('struct Free')[1].split('};')[0]


def test_sizes_and_bytes_that_show_keep_their_struct_fixed(tmp_path):
    """Nothing is refused: a struct whose size or bytes the program could
    observe keeps the ordinary layout, and says why; the rest is wrapped."""
    plain, text, model = both_ways(tmp_path, 'observed.c')
    assert 'written\n' in plain and 'hashed ' in plain
    with open(os.path.join(HERE, 'observed.c')) as f:
        lines = f.read().splitlines()

    def at(text):
        return '%s:%d' % (tmp_path / 'observed.c',
                          next(i for i, l in enumerate(lines, 1) if text in l))
    reasons = {d.name: d.reason for d in model.structs}
    for name in ('struct Alloc', 'struct Many', 'struct Grown', 'struct Buf', 'struct Bound',
                 'struct Named'):
        assert reasons[name] is None, (name, reasons[name])
        assert '__dsu_room' in text.split(name + '\n')[1].split('};')[0]
    assert reasons['struct Flex'].startswith('it ends in a variable-length member (data at ')
    assert reasons['struct Hack'].startswith('it ends in a variable-length member (data at ')
    assert reasons['struct Printed'] == 'its size is given to printf (%s)' % at(
        'sizeof(struct Printed)')
    assert reasons['struct Compared'] == 'its size is observable (sizeof at %s)' % at(
        'sizeof c == 8')
    assert reasons['struct Stored'] == 'its size is observable (sizeof at %s)' % at(
        'stored = sizeof')
    assert reasons['struct Written'] == 'its bytes leave the program (write at %s)' % at(
        'write(1, &w')
    assert reasons['struct Punned'] == \
        'its bytes are copied to or from other memory (memcpy at %s)' % at('memcpy(bytes')
    assert reasons['struct Cast'] == 'memory that is not a struct Cast is used as one ' \
        '(%s)' % at('(struct Cast *)words')
    assert reasons['struct Varg'] == \
        'it is passed through a variable argument list (va_arg at %s)' % at('va_arg(ap')
    assert reasons['struct Hashed'] == 'its bytes are given with its size to hash (%s)' % at(
        'hash(&h, sizeof h)')
    assert reasons['struct Tail'] == 'its last member b is initialised without a ' \
        'terminating nul (%s), so what follows it is read as part of it' % at('tails[] =')
    assert 'tail 5 abc\n' in plain
    assert reasons['struct InUnion'] == 'it is held by value in union Pun (%s), whose ' \
        'other members read its bytes' % at('union Pun {')
    assert reasons['struct Inline'] == 'memory that is not a struct Inline is used as ' \
        'one (%s)' % at('(struct Inline *)words')


def test_structs_kept_fixed_are_recorded_once_and_for_good(tmp_path):
    def entry(key, wrapped, reason):
        return {'key': key, 'name': key.split('@')[0], 'wrapped': wrapped,
                'reason': reason, 'file': 'o.h', 'line': 3}
    root = str(tmp_path)
    assert structs.load_fixed(root) == {}
    assert structs.record_fixed(root, [entry('struct O@o.h', False, 'first'),
                                       entry('struct W@o.h', True, None)]) == ['struct O@o.h']
    # another unit's reason does not replace the first; nothing is ever dropped
    assert structs.record_fixed(root, [entry('struct O@o.h', False, 'second')]) == []
    assert structs.record_fixed(root, []) == []
    assert structs.load_fixed(root) == {'struct O@o.h': 'first'}
    with open(os.path.join(root, structs.FIXED), 'w') as f:
        f.write('{"struct O@o.h": ')
    with pytest.raises(DsuError) as e:
        structs.load_fixed(root)
    assert 'fixed.json is corrupt' in str(e.value)


def _unit_with_attributes(tmp_path, n):
    lines = ['static int v%d __attribute__((unused)) = %d;' % (i, i) for i in range(n)]
    lines.append('int main(void) { long s = 0;')
    lines += ['{ __attribute__((unused)) int a = %d, b = 1; s += a + b; }' % i
              for i in range(n)]
    lines.append('return (int)s; }')
    path = tmp_path / 'big.c'
    path.write_text('\n'.join(lines) + '\n')
    return parse_unit('gcc', [], str(path), str(tmp_path), cwd=str(tmp_path))


def test_attributes_attach_in_time_close_to_linear(tmp_path):
    """40,000 attributed declarations (20,000 at file scope, 20,000 in
    blocks, two declarators each).  Attaching their attributes by scanning
    every declaration for each attribute took minutes; indexed by
    position it takes a small part of the time the parser takes on the
    same unit (measured in this process, so load affects both alike)."""
    start = time.process_time()
    unit = _unit_with_attributes(tmp_path, 20000)
    parse_time = time.process_time() - start
    decls, params, depths = driver.decls_of(unit.ast, unit)
    start = time.process_time()
    attrs = AttributeMap(unit.attributes, decls, params, depths)
    attach_time = time.process_time() - start
    assert len(attrs.decls) == 20000 + 2 * 20000
    assert attach_time < parse_time / 2, (attach_time, parse_time)


def test_a_program_on_one_line_is_tidied_in_linear_time(tmp_path):
    """A macro expansion can put a whole program on one line; the front
    end's edits to that line (here 96,000 blanked attribute tokens) must
    cost what they cost spread over many lines, not the line's length
    once per edit (which took seconds here).  Both are measured in this
    process, on the same edits."""
    block = '{ __attribute__((unused)) int a = 1; s += a; }'

    def edit_time(separator, name):
        path = tmp_path / name
        path.write_text('int main(void) { int s = 0;\n' + separator.join(
            [block] * 16000) + '\nreturn s; }\n')
        tidier = Tidier(preprocess('gcc', [], str(path), str(tmp_path), str(tmp_path)))
        tidier.run()
        assert len(tidier.attributes) == 16000
        start = time.process_time()
        tidier.result()
        return time.process_time() - start
    many_lines = edit_time('\n', 'lines.c')
    one_line = edit_time(' ', 'line.c')
    assert one_line < 10 * many_lines + 0.1, (one_line, many_lines)


def test_empty_initialiser_that_a_pass_added_to_is_not_left_as_a_name():
    """`{}` reaches the generator as `{__dsu_empty}`; a patch stamps the
    tag of a local it initialises (`struct S e = {};`), and the marker must
    not come out as an identifier (pr97764 of the corpus did)."""
    from pycparser import c_ast
    from dsu_tool.codegen.cgen import CGen
    init = c_ast.InitList([c_ast.ID('__dsu_empty'), c_ast.NamedInitializer(
        [c_ast.ID('tag')], c_ast.Constant('int', '7'))])
    assert CGen(lines=False).visit(init).replace(' ', '') == '.tag=7'
    assert CGen(lines=False).visit(c_ast.InitList([c_ast.ID('__dsu_empty')])) == ''


def test_keywords_in_string_literals_are_printed_as_written(tmp_path):
    """The C99 keywords the pass respells for every -std mode are left
    alone inside literals and comments: the program prints the same."""
    src, out, text, _ = transform(tmp_path, r'''
        #include <stdio.h>
        static inline int twice(int *restrict p) { return *p * 2; }
        int main(void)
        {
            int v = 2;
            /* an inline comment */
            printf("inline restrict %d %c\n", twice(&v), 'i');
            return 0;
        }
        ''')
    assert build_and_run_updateable(tmp_path, out) == build_and_run(tmp_path, src, 'plain') \
        == 'inline restrict 4 i\n'
    assert '__inline__ static' in text and '* __restrict p' in text


NORETURN = '''
    #include <stdio.h>
    #include <stdlib.h>
    #include <stdnoreturn.h>
    _Noreturn void die(const char *why);
    noreturn static void quit(void) { exit(0); }
    _Noreturn void die(const char *why) { fputs(why, stderr); exit(2); }
    static int pick(int x) { if (x > 0) return x; die("negative"); }
    static int choose(int x) { if (x) return 1; quit(); }
    int main(int argc, char **argv) { (void)argv; printf("%d\\n", pick(argc) + choose(argc)); return 0; }
'''


def test_noreturn_keyword_is_kept(tmp_path):
    """C11's `_Noreturn` (and <stdnoreturn.h>'s `noreturn`) is what lets a
    function end in a call to one without a return: the generated C keeps
    it, so a build with -Werror=return-type builds both ways."""
    src, out, text, _ = transform(tmp_path, NORETURN, 'noreturn.c')
    assert 'noreturn' in text
    for name, path, extra in (('plain', src, []),
                              ('dsu', out, ['-I', RUNTIME_INCLUDE, '-DDSU_UPDATEABLE'])):
        subprocess.run(['gcc', '-O2', '-Wall', '-Werror=return-type', '-c', '-o',
                        str(tmp_path / (name + '.o')), path] + extra, check=True,
                       cwd=str(tmp_path))
