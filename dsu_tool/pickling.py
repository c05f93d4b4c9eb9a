"""Parsed trees and unit models to bytes and back (the caches of
frontend.parsecache and patchgen.load).

Two things make the standard pickle unfit as it is:

* Speed.  pycparser's nodes have __slots__ (and a __weakref__ slot),
  which pickle stores as a dict per node; stored by position they take
  half the room and half the time.  And Python's cycle collector, run
  while hundreds of thousands of objects are made that all stay alive,
  walks them all again and again: nine tenths of reading a stored tree.
* Identity.  Several tables of the frontend and the passes are keyed by
  `id(node)` (member pragmas, attributes, wrapped structs).  A copy has
  new identities, so such a table would silently match nothing, or the
  wrong node.  dumps() finds every dict, set and list whose keys (items)
  are identities of objects it stores and stores them by object instead;
  loads() keys them again by the new objects' identities.  (Such a table
  reached twice is read back as two equal tables.)
"""

import copyreg
import gc
import io
import pickle
from contextlib import contextmanager

from pycparser import c_ast
from pycparser.c_parser import Coord

from .cachelimit import touch

@contextmanager
def gc_paused():
    """The cycle collector held off while large trees are built or read;
    they are freed by reference counting (or by the collection after the
    pause) all the same."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_SLOTS = {}


def node_slots(cls):
    """The data slots of a pycparser node class, in order (its
    __init__ sets every one)."""
    if cls not in _SLOTS:
        _SLOTS[cls] = tuple(s for s in cls.__slots__ if s != '__weakref__')
    return _SLOTS[cls]


def _make_node(cls, values):
    node = cls.__new__(cls)
    for name, value in zip(node_slots(cls), values):
        object.__setattr__(node, name, value)
    return node


def _reduce_node(node):
    cls = type(node)
    return _make_node, (cls, tuple(getattr(node, s, None) for s in node_slots(cls)))


def _reduce_coord(coord):
    return Coord, (coord.file, coord.line, coord.column)


_TABLE = dict(copyreg.dispatch_table)
_TABLE.update((cls, _reduce_node) for cls in vars(c_ast).values()
              if isinstance(cls, type) and issubclass(cls, c_ast.Node) and cls is not c_ast.Node)
_TABLE[Coord] = _reduce_coord


class _Survey(pickle.Pickler):
    """A first pass: the identities of the objects stored, and the dicts
    and sets whose keys are integers (candidates for identity keys)."""
    dispatch_table = _TABLE

    def __init__(self, out):
        super().__init__(out, protocol=pickle.HIGHEST_PROTOCOL)
        self.stored = {}          # id -> object
        self.int_keyed = []

    def persistent_id(self, obj):
        self.stored[id(obj)] = obj
        if type(obj) in (dict, set, list) and obj and type(next(iter(obj))) is int:
            self.int_keyed.append(obj)
        return None


class _Pickler(pickle.Pickler):
    dispatch_table = _TABLE

    def __init__(self, out, by_identity):
        super().__init__(out, protocol=pickle.HIGHEST_PROTOCOL)
        self.by_identity = by_identity      # id(table) -> its entries by object

    def persistent_id(self, obj):
        return self.by_identity.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        kind, entries = pid
        if kind == 'dict':
            return {id(key): value for key, value in entries}
        if kind == 'set':
            return {id(key) for key in entries}
        return [id(item) if identity else item for identity, item in entries]


def dumps(obj, identity_tables=True):
    """OBJ as bytes.  IDENTITY_TABLES false: the caller knows OBJ holds no
    table keyed by identity (the survey for them costs twice the dump)."""
    if not identity_tables:
        with gc_paused():
            out = io.BytesIO()
            _Pickler(out, {}).dump(obj)
            return out.getvalue()
    with gc_paused():
        survey = _Survey(io.BytesIO())
        survey.dump(obj)
        stored = survey.stored
        by_identity = {}
        for table in survey.int_keyed:
            if not any(k in stored for k in table):
                continue              # ordinary integers
            if isinstance(table, dict):
                # an identity of an object not stored names nothing after a copy
                by_identity[id(table)] = ('dict', [(stored[k], v) for k, v in table.items()
                                                   if k in stored])
            elif isinstance(table, set):
                by_identity[id(table)] = ('set', [stored[k] for k in table if k in stored])
            else:
                by_identity[id(table)] = ('list', [(k in stored, stored.get(k, k))
                                                   for k in table])
        out = io.BytesIO()
        _Pickler(out, by_identity).dump(obj)
        return out.getvalue()


def loads(data):
    with gc_paused():
        return _Unpickler(io.BytesIO(data)).load()


def load_entry(path):
    """What the cache entry PATH holds (dumps), marked used now (pruned
    last: cachelimit); None when it cannot be read whole: a damaged or
    foreign entry is a miss."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError:
        return None
    try:
        value = loads(data)
    except Exception:
        return None
    touch(path)
    return value
