"""The declared dependencies match what the code relies on."""

import inspect
import os
import re

import pycparser
from pycparser import c_generator
from packaging.specifiers import SpecifierSet

from conftest import ROOT

# The private helpers of pycparser's C generator that codegen/cgen.py
# overrides or calls, with the parameters it passes.
PRIVATE_API = {
    '_generate_stmt': ('n', 'add_indent'),
    '_generate_struct_union_enum': ('n', 'name'),
    '_generate_decl': ('n',),
    '_generate_type': ('n', 'emit_declname'),
    '_visit_expr': ('n',),
    'visit_Decl': ('n', 'no_type'),
}


def _declared(name):
    with open(os.path.join(ROOT, 'pyproject.toml')) as f:
        text = f.read()
    m = re.search(r'"%s([^"]*)"' % re.escape(name), text)
    assert m, '%s is not declared in pyproject.toml' % name
    return SpecifierSet(m.group(1))


def test_pycparser_is_pinned_to_the_tested_series():
    spec = _declared('pycparser')
    assert pycparser.__version__ in spec, (pycparser.__version__, str(spec))
    assert any(s.operator in ('<', '<=', '==', '~=') for s in spec), \
        'pycparser has no upper bound: its private API changes between releases'
    assert '3.13' not in spec and '4.0' not in spec


def test_private_generator_api_is_there():
    for name, params in PRIVATE_API.items():
        method = getattr(c_generator.CGenerator, name, None)
        assert method is not None, name
        have = inspect.signature(method).parameters
        for p in params:
            assert p in have, '%s lost parameter %s' % (name, p)
