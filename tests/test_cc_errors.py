"""What the developer sees when the updateable build cannot take a unit.

A unit the compiler itself rejects (a missing ';') gets the compiler's
own diagnostics and exit status, not the pass's parser message, which
names the token after the mistake, often on the next line.  A unit that
the compiler accepts but the pass cannot read gets the pass's message at
its file:line, and no object is left behind.
"""

import glob
import json
import os
import subprocess
import sys

from conftest import tool_env

MISSING_SEMICOLON = '''int sum(int n)
{
    int i, j = 0;
    for (i = 0; i < n; i++)
        j += i
    j++;
    return j;
}
'''

# a GNU range designator, which gcc takes and the pass's parser does not
RANGE_DESIGNATOR = '''int counts[8];
int ones[] = { [0 ... 3] = 1 };
'''

# typeof in a function's return type: neither in a body nor a declaration
# the pass could keep as written
TYPEOF_RESULT = '''int counts[8];
__typeof__(counts[0]) first(void) { return counts[0]; }
'''


def compile_updateable(tmp_path, text):
    src = tmp_path / 'unit.c'
    src.write_text(text)
    return subprocess.run([sys.executable, '-m', 'dsu_tool.cc', '--root', str(tmp_path),
                           '--', 'gcc', '-c', '-o', 'unit.o', 'unit.c'],
                          cwd=tmp_path, capture_output=True, text=True, env=tool_env(),
                          timeout=120)


def test_a_syntax_error_gets_the_compilers_diagnostics(tmp_path):
    r = compile_updateable(tmp_path, MISSING_SEMICOLON)
    plain = subprocess.run(['gcc', '-c', '-o', 'plain.o', 'unit.c'], cwd=tmp_path,
                           capture_output=True, text=True)
    assert r.returncode == plain.returncode != 0
    assert "unit.c:5:15: error: expected ';'" in r.stderr.replace('\u2018', "'").replace(
        '\u2019', "'")
    assert 'cannot parse' not in r.stderr


def test_code_the_compiler_accepts_gets_the_pass_message_at_its_line(tmp_path):
    r = compile_updateable(tmp_path, TYPEOF_RESULT)
    assert r.returncode == 1
    assert r.stderr.startswith('unit.c:2:'), r.stderr
    assert 'typeof is not supported' in r.stderr
    assert not os.path.exists(tmp_path / 'unit.o')


def test_a_declaration_the_parser_cannot_take_is_kept_as_written(tmp_path):
    r = compile_updateable(tmp_path, RANGE_DESIGNATOR)
    assert r.returncode == 0, r.stderr
    manifest, = glob.glob(str(tmp_path / '.dsu' / 'gen' / '**' / 'unit.o.dsu.json'),
                          recursive=True)
    with open(manifest) as f:
        recorded = json.load(f)['as_written']
    assert [(r['name'], r['kind'], r['line']) for r in recorded] == [
        ('ones', 'declaration', 2)]
    assert 'cannot parse' in recorded[0]['reason']
