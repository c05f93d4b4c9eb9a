"""The model of one translation unit: its patchable definitions.

Raw pycparser nodes stay inside this package and the passes; what other
stages (version store, patch generator, CLI) see is `Entity` records and
JSON made from them.
"""

import hashlib
import os
import re
from dataclasses import dataclass, field

from pycparser import c_ast

from .arrays import Lengths, with_length
from .builtins import is_builtin_name
from .ctypes import Canon, expr_text, type_hash

FUNC, VAR = 'function', 'variable'

# The prefix of the functions loop extraction makes (passes.loops).
LOOP_PREFIX = '__dsu_loop_'
# ... and of the continuations passes.continuations makes:
# __dsu_cont_<len><origin>_<len><callee>_<n>, the code of the user's
# function ORIGIN after its Nth call of CALLEE that was made one (CALLEE
# is empty after a loop whose extracted body leads to an update point).  The lengths make the name
# readable back whatever underscores the two names hold.
CONT_PREFIX = '__dsu_cont_'
_LOOP_NAME = re.compile(r'^__dsu_loop_(.+)_(\d+)$')


def continuation_name(origin, callee, n):
    return '%s%d%s_%d%s_%d' % (CONT_PREFIX, len(origin), origin, len(callee), callee, n)


def continuation_of(name):
    """(origin, callee, n) of a continuation's NAME, or None."""
    if not name.startswith(CONT_PREFIX):
        return None
    rest = name[len(CONT_PREFIX):]
    out = []
    for _ in range(2):
        m = re.match(r'(\d+)', rest)
        if m is None:
            return None
        k = int(m.group(1))
        word, rest = rest[len(m.group(1)):len(m.group(1)) + k], rest[len(m.group(1)) + k:]
        if not rest.startswith('_'):
            return None
        out.append(word)
        rest = rest[1:]
    return (out[0], out[1], int(rest)) if rest.isdigit() else None


def is_extracted(name):
    """Is NAME a function the pass made (a loop body, a continuation)?"""
    return name.startswith(LOOP_PREFIX) or name.startswith(CONT_PREFIX)


def user_function(name):
    """The user's function whose code the function NAME runs: itself, or
    the function a loop body or a continuation was taken from."""
    cont = continuation_of(name)
    if cont is not None:
        return cont[0]
    m = _LOOP_NAME.match(name)
    return m.group(1) if m else name


def continuation_label(name):
    """How messages name a continuation: 'main after serve()'."""
    origin, callee, _ = continuation_of(name)
    return '%s after %s' % (origin, '%s()' % callee if callee else 'its loop')


def function_label(name):
    """How messages name the function NAME: an extracted loop body or a
    continuation by the code it holds ('loop 1 in main', 'main after
    serve()'), any other by its name."""
    if continuation_of(name):
        return continuation_label(name)
    m = _LOOP_NAME.match(name)
    return 'loop %s in %s' % (m.group(2), m.group(1)) if m else name


def called_directly(ent):
    """Is a call to ENT, from code of the unit that defines it, compiled
    as a direct call when the 'direct' pass runs?  Every function with a
    slot is, except an extracted loop body or continuation: its next call
    must run the newest version, so it is always called through its slot."""
    return (ent.kind == FUNC and ent.defined and not ent.unreachable
            and not ent.as_written and not is_extracted(ent.name) and not is_builtin_name(ent.name))


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
    inline_only: bool = False # an inline definition: no external one in this unit
    length: int = None        # an array declared `[]`: the length its initialiser gives
    as_written: str = ''      # a function compiled as written: why (frontend.aswritten)

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


class UnitModel:
    """File-scope names of one translation unit and their entities."""

    def __init__(self, unit, tu_path, attributes=None):
        """ATTRIBUTES: the unit's codegen.cgen.AttributeMap, if any (it
        tells which functions are declared gnu_inline)."""
        self.unit = unit
        self.tu_path = tu_path
        self.typedefs = {}
        self.entities = {}        # source name -> Entity (file scope)
        self.locals = []          # function-local statics (filled by passes)
        self.structs = []         # model.structs.StructDef, in order
        self.canon = Canon(self.typedefs)
        self.file_decls = {}      # name -> every file-scope declaration of it
        self._lengths = None      # model.arrays.Lengths, made when first needed
        self._collect()
        for ent in self.entities.values():
            ent.inline_only = self._inline_definition(ent, attributes)
            if ent.kind == VAR and not ent.defined and attributes is not None and any(
                    re.search(r'\balias\b|\b__alias__\b', a)
                    for a in attributes.decls.get(id(ent.decl), [])):
                # `extern int b __attribute__((alias("a")))` defines b
                ent.defined = True

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

    def _inline_definition(self, ent, attributes):
        """Does the unit define function ENT for inlining only, giving it
        no external definition?  Then the ordinary build emits no symbol
        for it here (calls are inlined or reach the definition of another
        unit), and the updateable build must not either: it leaves the
        definition as it is, with no slot and no stub.
          C99 (6.7.4p7): when every file-scope declaration of it in the
            unit says `inline` and none says `extern`;
          gnu89 (-std=gnu89, -fgnu89-inline, or the gnu_inline attribute
            on a declaration): when its definition says `extern inline`."""
        if ent.kind != FUNC or not ent.defined or ent.static:
            return False
        decls = self.file_decls.get(ent.name, [])
        gnu = '__GNUC_GNU_INLINE__' in self.unit.pre.macros or attributes is not None and any(
            'gnu_inline' in a for d in decls for a in attributes.decls.get(id(d), []))
        if gnu:
            d = ent.decl
            return 'inline' in (d.funcspec or []) and 'extern' in storage(d)
        return all('inline' in (d.funcspec or []) and 'extern' not in storage(d)
                   for d in decls)

    def _declare(self, decl, project, defined):
        st = storage(decl)
        is_func = is_function_decl(decl)
        if is_func:
            self.file_decls.setdefault(decl.name, []).append(decl)
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
        if defined or not ent.defined:
            ent.decl = decl
            ent.file, ent.line = decl.coord.file, decl.coord.line
            ent.type_text, ent.length = self.type_of(decl)
            ent.const = ent.kind == VAR and qualifies_const(decl.type)
            ent.thread_local = '_Thread_local' in st
            if defined:
                ent.defined = True
                if ent.kind == VAR and decl.init is not None:
                    ent.init_text = expr_text(decl.init)
            ent.hash = entity_hash(ent)

    def type_of(self, decl):
        """(canonical type text, implied length or None) of variable or
        function DECL: an array declared `[]` is spelled with the length
        its initialiser gives it, because that is its type."""
        ty = decl.type
        if isinstance(ty, c_ast.ArrayDecl) and ty.dim is None and decl.init is not None:
            if self._lengths is None:
                self._lengths = Lengths(self.unit.ast, self.typedefs)
            n = self._lengths.length(ty, decl.init)
            if n is not None:
                return self.canon.of(with_length(ty, n)), n
        return self.canon.of(ty), None

    def functions(self):
        return [e for e in self.entities.values() if e.kind == FUNC and e.defined]

    def patchable_functions(self):
        """Functions that get a slot: all but unreachable statics and
        inline definitions (see _inline_definition), and functions
        compiled as written (frontend.aswritten)."""
        return [e for e in self.functions() if not e.unreachable and not e.inline_only
                and not e.as_written]

    def as_written_functions(self):
        return [e for e in self.functions() if e.as_written]

    def inline_definitions(self):
        return [e for e in self.functions() if e.inline_only]

    def variables(self):
        return [e for e in self.entities.values() if e.kind == VAR and e.defined]


def entity_hash(ent):
    text = ent.type_text
    if ent.kind == VAR and ent.const:
        text += ' = ' + ent.init_text
    return type_hash(text)
