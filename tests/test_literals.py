"""The one escaping of text that goes into generated C (codegen.literals),
checked by gcc: the program prints back exactly what went in."""

import subprocess

import pytest

from dsu_tool.codegen.literals import c_comment, c_header_name, c_string
from dsu_tool.frontend.errors import DsuError

AWKWARD = ['plain', 'a "quoted" name', 'back\\slash\\', 'line\nbreak', 'tab\there',
           'trigraph ??= ??/ ??\'', 'comment */ end /* open', '\x01\x1f\x7f', '%s %d',
           'caf\xe9']


def test_strings_and_comments_survive_gcc(tmp_path):
    src = tmp_path / 't.c'
    body = ''.join('    /* %s */ fwrite(%s, 1, sizeof %s - 1, stdout); putchar(0);\n'
                   % (c_comment(s), c_string(s), c_string(s)) for s in AWKWARD)
    src.write_text('#include %s\nint main(void)\n{\n%s    return 0;\n}\n'
                   % (c_header_name('/usr/include/stdio.h'), body), encoding='latin-1')
    exe = tmp_path / 't'
    for std in ('-std=gnu11', '-std=c89'):
        subprocess.run(['gcc', std, '-Wall', '-Werror', '-o', exe, src], check=True)
        out = subprocess.run([exe], capture_output=True, check=True).stdout
        assert out.decode('latin-1').split('\0')[:-1] == AWKWARD


@pytest.mark.parametrize('path', ['/tmp/a"b.h', '/tmp/a\nb.h'])
def test_header_name_that_cannot_be_written_is_an_error(path):
    with pytest.raises(DsuError, match='cannot #include'):
        c_header_name(path)
