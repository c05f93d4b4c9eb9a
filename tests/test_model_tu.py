"""model.tu: the length an initializer gives an array declared without
one, checked against gcc (a redeclaration with another length is an
error)."""

import subprocess

import pytest
from pycparser import CParser

from dsu_tool.codegen.cgen import CGen
from dsu_tool.model.tu import completed_array

CASES = [
    'long a[] = {1, 2, 3};',
    'char s[] = "ab\\n\\x41\\0101" "c";',
    'char d[] = {"xyz"};',
    'char *e[] = {"xyz", "w"};',
    'int b[] = {[5] = 1, 2};',
    'int c[] = {[010] = 1};',
    'int g[] = {[0x10] = 1, [2] = 3};',
    'int m[][2] = {{1, 2}, {3, 4}, {5}};',
]


@pytest.mark.parametrize('source', CASES)
def test_completed_array_has_gccs_length(source, tmp_path):
    decl = CParser().parse(source).ext[0]
    ty = completed_array(decl.type, decl.init)
    assert ty.dim is not None
    redeclared = CGen(lines=False).visit(type(decl)(
        decl.name, [], [], ['extern'], [], ty, None, None))
    path = tmp_path / 't.c'
    path.write_text('%s\n%s;\n' % (source, redeclared))
    r = subprocess.run(['gcc', '-fsyntax-only', '-Werror', str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + path.read_text()


def test_length_left_open_when_not_plain():
    decl = CParser().parse('int h[] = {[1 + 1] = 1};').ext[0]
    assert completed_array(decl.type, decl.init).dim is None
