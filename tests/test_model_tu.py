"""model.arrays: the length an initializer gives an array declared
without one, checked against gcc (a redeclaration with another length is
an error)."""

import subprocess

import pytest
from pycparser import CParser

from dsu_tool.codegen.cgen import CGen
from dsu_tool.model.arrays import Lengths, with_length

CASES = [
    'long a[] = {1, 2, 3};',
    'char s[] = "ab\\n\\x41\\0101" "c";',
    'char d[] = {"xyz"};',
    'char *e[] = {"xyz", "w"};',
    'int b[] = {[5] = 1, 2};',
    'int c[] = {[010] = 1};',
    'int g[] = {[0x10] = 1, [2] = 3};',
    'int h[] = {[1 + 1] = 1};',
    'int m[][2] = {{1, 2}, {3, 4}, {5}};',
]


@pytest.mark.parametrize('source', CASES)
def test_implied_length_is_gccs(source, tmp_path):
    ast = CParser().parse(source)
    decl = ast.ext[0]
    n = Lengths(ast, {}).length(decl.type, decl.init)
    assert n is not None
    redeclared = CGen(lines=False).visit(type(decl)(
        decl.name, [], [], ['extern'], [], with_length(decl.type, n), None, None))
    path = tmp_path / 't.c'
    path.write_text('%s\n%s;\n' % (source, redeclared))
    r = subprocess.run(['gcc', '-fsyntax-only', '-Werror', str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + path.read_text()
