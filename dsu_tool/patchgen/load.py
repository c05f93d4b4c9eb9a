"""Read a recorded version back into models the patch generator compares."""

import hashlib
import json
import os
import pickle

from pycparser import c_ast

from ..codegen.cgen import CGen
from ..files import write_atomic
from ..frontend import parsecache
from ..frontend.parse import parse_text
from ..frontend.preprocess import split
from ..model.structs import fixed_of
from ..model.tu import FUNC
from ..passes import run_pre_passes
from ..passes.driver import degrading, transform_unit
from ..pickling import dumps, load_entry
from ..versions.record import Version
from ..passes.common import copy_tree

_PLAIN = CGen(lines=False)


def read_recorded(manifest, i_path):
    with open(i_path, encoding='latin-1') as f:
        text = f.read()
    return split(text, manifest['source'], manifest['root'], manifest['cwd'],
                 prelude=manifest.get('prelude'))


def parse_recorded(manifest, i_path, degrade=(), pre=None, cache_root=None):
    """DEGRADE: the functions a pass could not rewrite (passes.driver.degrading).
    With CACHE_ROOT (the project root), the parse the build kept is read
    back, or the parse made here kept (frontend.parsecache)."""
    pre = pre or read_recorded(manifest, i_path)
    if cache_root is None:
        unit = parse_text(pre, degrade)
    else:
        unit = parsecache.parse(pre, degrade, manifest['root'], manifest['cwd'], cache_root)
    return run_pre_passes(unit, manifest.get('passes'))


def type_key(node):
    """The name a project type declaration defines, or None.  Struct
    definitions are compared by layout (model.structs), not here."""
    if isinstance(node, c_ast.Typedef):
        if isinstance(node.type, c_ast.TypeDecl) and isinstance(node.type.type, c_ast.Struct):
            return None
        return 'typedef ' + node.name
    if isinstance(node, c_ast.Decl) and node.name is None:
        t = node.type
        if isinstance(t, (c_ast.Struct, c_ast.Union, c_ast.Enum)) and t.name:
            kind = {c_ast.Struct: 'struct', c_ast.Union: 'union',
                    c_ast.Enum: 'enum'}[type(t)]
            if kind == 'struct' or (kind != 'enum' and t.decls is None):
                return None          # compared by layout / a forward declaration
            return '%s %s' % (kind, t.name)
    return None


def _struct_by_tag(typedef):
    """`typedef struct E {...} *EP;` as `typedef struct E *EP;`: struct E
    is compared by its layout, the typedef by what it makes of it."""
    parent, ty = typedef, typedef.type
    while isinstance(ty, (c_ast.PtrDecl, c_ast.ArrayDecl, c_ast.TypeDecl)):
        parent, ty = ty, ty.type
    if not isinstance(ty, c_ast.Struct) or not ty.name or ty.decls is None:
        return typedef
    typedef = copy_tree(typedef)
    parent, ty = typedef, typedef.type
    while isinstance(ty, (c_ast.PtrDecl, c_ast.ArrayDecl, c_ast.TypeDecl)):
        parent, ty = ty, ty.type
    parent.type = c_ast.Struct(ty.name, None, coord=ty.coord)
    return typedef


def enumerators(node, out):
    """Collect enumerator name -> value text from a declaration."""
    for _, child in node.children():
        if isinstance(child, c_ast.Enum) and child.values is not None:
            value = 0
            base = None
            for e in child.values.enumerators:
                if e.value is not None:
                    base, value = _PLAIN.visit(e.value), 0
                out[e.name] = base + ' + %d' % value if base is not None else str(value)
                value += 1
        else:
            enumerators(child, out)


# What reading a unit of a version gives (UnitVersion._read), kept in
# .dsu/cache: the next patch from or to the same version, or from a
# version where the unit is the same, reads it instead of running the
# passes over the unit again.  The key is everything it comes from: the
# recorded unit (its preprocessed text), its manifest (flags, places,
# passes, the structs it keeps unwrapped and their sizes) and the tool's
# own code.
_KEPT = ('degrade', 'bodies', 'types', 'enums', 'as_written', 'kept_in_place', 'raw', 'model',
         'sizes')
_FORMAT = b'unit-1'


def _kept_path(manifest, i_path, cache_root):
    if cache_root is None:
        return None
    from ..cc import tool_digest
    h = hashlib.sha1(_FORMAT)
    try:
        with open(i_path, 'rb') as f:
            h.update(f.read())
    except OSError:
        return None
    h.update(json.dumps(manifest, sort_keys=True).encode() + tool_digest().encode())
    return os.path.join(cache_root, parsecache.CACHE, h.hexdigest() + '.unit')


def _read_kept(path):
    state = load_entry(path) if path is not None else None
    if not (isinstance(state, dict) and set(state) == set(_KEPT)):
        return None          # none yet, damaged, foreign: read the unit
    return state


def _keep(path, state):
    """Store STATE for the next patch, from a child process when one can
    be made (patchgen.build waits for it: parsecache.finish_background)."""
    if path is not None and not parsecache.in_background(lambda: _store(path, state)):
        _store(path, state)


def _store(path, state):
    try:
        data = dumps(state)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomic(path, data, encoding=None)
    except (OSError, pickle.PicklingError, RecursionError):
        pass      # the next patch reads the unit again


class UnitVersion:
    """One translation unit of a recorded version."""

    def __init__(self, manifest, i_path, cache_root=None):
        self.manifest = manifest
        self.i_path = i_path
        self.cache_root = cache_root
        self.tu = manifest['tu']
        kept = _kept_path(manifest, i_path, cache_root)
        state = _read_kept(kept)
        if state is not None:
            self.__dict__.update(state)
            return
        pre = read_recorded(manifest, i_path)
        self.degrade = degrading(pre, lambda degrade: self._read(pre, degrade))
        _keep(kept, {name: getattr(self, name) for name in _KEPT})

    def parse(self, pre=None, degrade=None):
        """The unit parsed afresh (a tree of its own to change)."""
        return parse_recorded(self.manifest, self.i_path,
                              self.degrade if degrade is None else degrade, pre,
                              self.cache_root)

    def _read(self, pre, degrade):
        manifest = self.manifest
        unit = self.parse(pre, degrade)
        plain = CGen(lines=False, asm=unit.asm)     # bodies may hold asm statements
        self.bodies = {}          # source name -> regenerated text
        self.types = {}           # type key -> (text, coord)
        self.enums = {}           # enumerator -> value text
        self.as_written = unit.as_written or {}
        # user's function -> passes.continuations.Kept
        self.kept_in_place = unit.kept_in_place or {}
        self.raw = []             # kept as written: (text, coord, kind)
        for ext in unit.ast.ext:
            if not unit.is_project(ext):
                continue
            if isinstance(ext, c_ast.Typedef) and ext.name in (unit.raw or {}):
                text = ''.join(l for l in unit.raw[ext.name].splitlines(True)
                               if not l.startswith('#line'))
                self.raw.append((' '.join(text.split()), ext.coord, unit.raw_kinds[ext.name]))
                continue
            if isinstance(ext, c_ast.FuncDef):
                rec = self.as_written.get(ext.decl.name)
                self.bodies[ext.decl.name] = rec.text if rec else plain.visit(ext)
            key = type_key(ext)
            if key:
                self.types[key] = (plain.visit(_struct_by_tag(ext)), ext.coord)
            if not isinstance(ext, c_ast.FuncDef):
                enumerators(ext, self.enums)
        # The pass itself tells which names a unit defines, how they are
        # linked and what each function refers to.
        _, self.model = transform_unit(unit, self.tu, '<patch>',
                                       manifest.get('passes'), fixed=fixed_of(manifest))
        self.sizes = {s['key']: {'size': s['size'], 'tag_offset': s['tag_offset']}
                      for s in manifest.get('structs', []) if s.get('wrapped') and 'size' in s}
        return list(degrade)

    def functions(self):
        # unreachable statics have no slot in the program: for a patch they
        # do not exist (a version that uses one gets it as a new function).
        # Functions compiled as written are there to be called; a patch
        # that would replace one is refused (patchgen.diff)
        return {e.link: e for e in self.model.patchable_functions()
                + [e for e in self.model.as_written_functions()
                   if not e.unreachable and not e.inline_only]}

    def variables(self):
        return {e.link: e for e in self.model.variables() + self.model.locals}

    def body(self, ent):
        return self.bodies.get(ent.name, '')


class ProgramVersion:
    """All units of one recorded version of a program."""

    def __init__(self, root, name, program, progress=None):
        v = Version(root, name, program)
        self.name, self.id, self.program = v.name, v.id, program
        self.points = v.points
        self.units = []
        for m, p in v.units:
            if progress:
                progress('loading %s' % name, len(self.units), len(v.units))
            self.units.append(UnitVersion(m, p, root))
        self.functions, self.variables, self.unit_of = {}, {}, {}
        self.structs = {}             # key -> (StructDef, unit) of its first unit
        for u in self.units:
            for d in u.model.structs:
                self.structs.setdefault(d.key, (d, u))
            for link, ent in u.functions().items():
                self.functions[link] = ent
                self.unit_of[link] = u
            for link, ent in u.variables().items():
                self.variables[link] = ent
                self.unit_of[link] = u

    def entity(self, link):
        return self.functions.get(link) or self.variables.get(link)

    def is_function(self, link):
        return link in self.functions and self.functions[link].kind == FUNC



