"""The records generated C gives the runtime (codegen/records.py) against
the header that defines them (runtime/include/dsu_internal.h): every
struct of the header is described field by field, and a record of each
kind, every field set, compiles with the warnings that catch a misnamed,
repeated or missing field."""

import os
import subprocess

from pycparser import c_ast, c_parser

from dsu_tool.codegen.records import FIELDS, record
from dsu_tool.codegen.unit import RUNTIME_INCLUDE

HEADER = os.path.join(RUNTIME_INCLUDE, 'dsu_internal.h')


def header_structs():
    """struct name -> its field names, from the header as gcc reads it."""
    text = subprocess.run(['gcc', '-E', '-P', HEADER], capture_output=True, text=True,
                          check=True).stdout
    ast = c_parser.CParser().parse(text)
    out = {}
    for ext in ast.ext:
        node = ext.type if isinstance(ext, c_ast.Decl) else None
        if isinstance(node, c_ast.Struct) and node.decls is not None:
            out[node.name] = tuple(d.name for d in node.decls)
    return out


def test_every_struct_of_the_header_is_described_in_order():
    structs = header_structs()
    described = {k: v for k, v in structs.items() if k != 'dsu_type_state'}
    assert described == FIELDS


def test_a_record_of_each_kind_compiles_against_the_header(tmp_path):
    lines = ['#include "%s"' % HEADER, 'static int f(void) { return 0; }',
             'static int g(void *p) { (void)p; return 0; }',
             'static void *cell;', 'static char *const names[] = {0};',
             'static const struct dsu_sym syms[1];']
    values = {'name': '"n"', 'type_hash': '"h"', 'file': '"f.c"', 'kind': '1',
              'size': '8', 'slot': '(void **)&cell', 'addr': '(void *)&cell',
              'cell': '(void **)&cell', 'body': '(void *)f', 'layout': '"l"',
              'tag': '1u', 'tag_offset': '8', 'reserved': '0', 'type': '"t"',
              'from_layout': '"a"', 'to_layout': '"b"', 'from_tag': '1u', 'to_tag': '2u',
              'convert': 'g', 'transform': 'f', 'line': '3u', 'function': '"fn"',
              'restricted': '(const char *const *)names', 'magic': 'DSU_PATCH_MAGIC',
              'abi': 'DSU_ABI_VERSION', 'program': '"p"', 'from_version': '"v1"',
              'from_id': '"i1"', 'to_version': '"v2"', 'to_id': '"i2"', 'defs': 'syms',
              'summary': '"s"', 'points': '0'}
    for kind, fields in sorted(FIELDS.items()):
        init = record(kind, **{f: values.get(f, '0') for f in fields})
        lines.append('const struct %s r_%s = %s;' % (kind, kind, init))
    src = tmp_path / 'records.c'
    src.write_text('\n'.join(lines) + '\n')
    proc = subprocess.run(['gcc', '-c', '-std=gnu11', '-Wall', '-Wextra', '-Werror',
                           '-Woverride-init', '-Wmissing-field-initializers',
                           '-o', str(tmp_path / 'records.o'), str(src)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_a_field_the_header_lacks_is_refused():
    try:
        record('dsu_sym', name='"x"', nosuch='1')
    except ValueError as e:
        assert 'nosuch' in str(e)
    else:
        raise AssertionError('an unknown field was accepted')
