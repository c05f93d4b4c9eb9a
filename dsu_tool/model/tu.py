"""The model of one translation unit: its patchable definitions.

Raw pycparser nodes stay inside this package and the passes; what other
stages (version store, patch generator, CLI) see is `Entity` records and
JSON made from them.
"""

import copy
import hashlib
import os
import re
from dataclasses import dataclass, field

from pycparser import c_ast

from .builtins import is_builtin_name
from .ctypes import Canon, expr_text, type_hash

FUNC, VAR = 'function', 'variable'

# The prefix of the functions loop extraction makes (passes.loops).
LOOP_PREFIX = '__dsu_loop_'


def called_directly(ent):
    """Is a call to ENT, from code of the unit that defines it, compiled
    as a direct call when the 'direct' pass runs?  Every function with a
    slot is, except an extracted loop body: its next iteration must run
    the newest version, so it is always called through its slot."""
    return (ent.kind == FUNC and ent.defined and not ent.unreachable
            and not ent.name.startswith(LOOP_PREFIX) and not is_builtin_name(ent.name))


def mangle_tu(tu_path):
    """A readable, unique suffix for names made external from TU_PATH."""
    stem = re.sub(r'\W', '_', os.path.basename(tu_path))
    digest = hashlib.sha1(tu_path.encode()).hexdigest()[:6]
    return '%s_%s' % (stem, digest)


def static_link_name(name, tu_path):
    return '%s__dsu_%s' % (name, mangle_tu(tu_path))


def local_static_link_name(name, func, tu_path, ordinal=0):
    suffix = '_%d' % ordinal if ordinal else ''
    return '%s__dsu_%s_%s%s' % (name, func, mangle_tu(tu_path), suffix)


class LocalStaticNames:
    """Link names of function-local statics, in the order a traversal of
    a unit meets them; the pass and the patch generator must agree."""

    def __init__(self, tu_path):
        self.tu_path = tu_path
        self.seen = {}

    def next(self, func, name):
        ordinal = self.seen.get((func, name), 0)
        self.seen[(func, name)] = ordinal + 1
        return local_static_link_name(name, func, self.tu_path, ordinal)


@dataclass
class Entity:
    """A function or variable the program defines or declares at file scope."""
    name: str                 # name in the source
    kind: str                 # FUNC or VAR
    link: str                 # link name: plain, or made external for statics
    static: bool
    defined: bool = False
    const: bool = False
    thread_local: bool = False
    type_text: str = ''       # canonical type
    init_text: str = ''       # initializer as regenerated C (variables)
    hash: str = ''            # type hash (+ value for const variables)
    file: str = ''
    line: int = 0
    decl: object = None       # defining (or first) c_ast node
    owner: str = ''           # for a function-local static: its function
    body_text: str = ''       # functions: regenerated body, for comparison
    refs: set = field(default_factory=set)   # link names used by a function
    unreachable: bool = False # a static function no code of its unit reaches

    def to_json(self):
        return {k: v for k, v in {
            'name': self.name, 'kind': self.kind, 'link': self.link,
            'static': self.static, 'const': self.const,
            'type': self.type_text, 'hash': self.hash, 'file': self.file,
            'line': self.line, 'owner': self.owner or None,
            'refs': sorted(self.refs) or None,
        }.items() if v not in (None, False, '')}


def storage(decl):
    return set(decl.storage or [])


def is_function_decl(decl):
    return isinstance(decl, c_ast.Decl) and isinstance(decl.type, c_ast.FuncDecl)


def qualifies_const(ty):
    """Is the object itself const (not just something it points to)?"""
    while isinstance(ty, c_ast.ArrayDecl):
        ty = ty.type
    return isinstance(ty, (c_ast.TypeDecl, c_ast.PtrDecl)) and 'const' in (ty.quals or [])


def completed_array(ty, init):
    """TY with the length that the initializer INIT gives an array declared
    without one (`long t[] = {1, 2, 3}` is a long[3]), for code that sees
    the object only through a declaration (`sizeof t` needs the length).
    TY itself when it is no such array or the length is not plain."""
    if not isinstance(ty, c_ast.ArrayDecl) or ty.dim is not None or init is None:
        return ty
    n = _initializer_length(init, ty.type)
    if n is None:
        return ty
    ty = copy.copy(ty)
    ty.dim = c_ast.Constant('int', str(n))
    return ty


_INTEGER = re.compile(r'^(0[xX][0-9a-fA-F]+|\d+)[uUlL]*$')


def _initializer_length(init, element):
    if isinstance(init, c_ast.Constant) and init.type == 'string':
        return string_length(init.value) + 1
    if not isinstance(init, c_ast.InitList):
        return None
    exprs = init.exprs
    if len(exprs) == 1 and isinstance(element, c_ast.TypeDecl) and \
            isinstance(exprs[0], c_ast.Constant) and exprs[0].type == 'string':
        return string_length(exprs[0].value) + 1       # char s[] = {"abc"}
    index = length = 0
    for e in exprs:
        if isinstance(e, c_ast.NamedInitializer):
            first = getattr(e.name[0], 'expr', e.name[0])       # [k] (pycparser 3)
            m = _INTEGER.match(first.value) if isinstance(first, c_ast.Constant) else None
            if m is None:
                return None          # a field designator or a computed index
            digits = m.group(1)
            index = int(digits, 16 if digits[:2] in ('0x', '0X') else
                        8 if digits.startswith('0') else 10)
        index += 1
        length = max(length, index)
    return length


_STRING_PART = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
_ESCAPE = re.compile(r'\\(x[0-9a-fA-F]+|[0-7]{1,3}|.)', re.S)


def string_length(text):
    """The number of characters of a (possibly concatenated) string
    literal's text, escapes counted as one."""
    return sum(len(_ESCAPE.sub('e', part)) for part in _STRING_PART.findall(text))


class UnitModel:
    """File-scope names of one translation unit and their entities."""

    def __init__(self, unit, tu_path):
        self.unit = unit
        self.tu_path = tu_path
        self.typedefs = {}
        self.entities = {}        # source name -> Entity (file scope)
        self.locals = []          # function-local statics (filled by passes)
        self.structs = []         # model.structs.StructDef, in order
        self.canon = Canon(self.typedefs)
        self._collect()

    def _collect(self):
        for ext in self.unit.ast.ext:
            if isinstance(ext, c_ast.Typedef):
                self.typedefs[ext.name] = ext.type
                continue
            project = self.unit.is_project(ext)
            if isinstance(ext, c_ast.FuncDef):
                self._declare(ext.decl, project, defined=True)
            elif isinstance(ext, c_ast.Decl) and ext.name:
                self._declare(ext, project, defined=None)

    def _declare(self, decl, project, defined):
        st = storage(decl)
        is_func = is_function_decl(decl)
        if defined is None:
            defined = not is_func and 'extern' not in st
        ent = self.entities.get(decl.name)
        if ent is None:
            if not project:
                return  # a declaration from an outside header: not ours
            static = 'static' in st
            ent = Entity(name=decl.name, kind=FUNC if is_func else VAR,
                         link=static_link_name(decl.name, self.tu_path)
                         if static else decl.name,
                         static=static, decl=decl)
            self.entities[decl.name] = ent
        if not project and not defined:
            return
        # A non-static `inline` definition becomes an ordinary one: its body
        # is static anyway and the stub is the external symbol.  If another
        # unit also defines it, the link fails; nothing changes silently.
        if defined or not ent.defined:
            ent.decl = decl
            ent.file, ent.line = decl.coord.file, decl.coord.line
            ent.type_text = self.canon.of(decl.type)
            ent.const = ent.kind == VAR and qualifies_const(decl.type)
            ent.thread_local = '_Thread_local' in st
            if defined:
                ent.defined = True
                if ent.kind == VAR and decl.init is not None:
                    ent.init_text = expr_text(decl.init)
            ent.hash = entity_hash(ent)

    def functions(self):
        return [e for e in self.entities.values() if e.kind == FUNC and e.defined]

    def patchable_functions(self):
        """Functions that get a slot: all but unreachable statics."""
        return [e for e in self.functions() if not e.unreachable]

    def variables(self):
        return [e for e in self.entities.values() if e.kind == VAR and e.defined]


def entity_hash(ent):
    text = ent.type_text
    if ent.kind == VAR and ent.const:
        text += ' = ' + ent.init_text
    return type_hash(text)
