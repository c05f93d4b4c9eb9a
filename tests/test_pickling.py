"""dsu_tool.pickling: a stored tree reads back whole, and tables keyed by
the identity of its nodes are keyed by the new nodes."""

from pycparser import c_parser

from dsu_tool.codegen.cgen import CGen
from dsu_tool.pickling import dumps, loads

C = 'struct s { int a; char b; }; int f(int x) { return x + 1; }\n'


def test_tree_reads_back_whole():
    ast = c_parser.CParser().parse(C, filename='u.c')
    back = loads(dumps(ast))
    assert back is not ast
    assert CGen(lines=False).visit(back) == CGen(lines=False).visit(ast)
    assert (back.ext[1].coord.file, back.ext[1].coord.line) == ('u.c', 1)


def test_identity_tables_are_keyed_again():
    ast = c_parser.CParser().parse(C)
    struct, func = ast.ext[0].type, ast.ext[1]
    state = {'ast': ast,
             'by_node': {id(struct): 'the struct', id(func): 'the function'},
             'seen': {id(func)},
             'params': [id(func.decl), 7],
             'sizes': {8: 'eight', 16: 'sixteen'}}      # ordinary integers
    back = loads(dumps(state))
    new_struct, new_func = back['ast'].ext[0].type, back['ast'].ext[1]
    assert back['by_node'] == {id(new_struct): 'the struct', id(new_func): 'the function'}
    assert back['seen'] == {id(new_func)}
    assert back['params'] == [id(new_func.decl), 7]
    assert back['sizes'] == {8: 'eight', 16: 'sixteen'}
