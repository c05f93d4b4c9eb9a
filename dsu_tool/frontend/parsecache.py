"""The parsed form of a unit, kept between runs in .dsu/cache.

Parsing is the largest part of the pass, and `scons patch` needs the
parse of every unit of both versions: the very parses the two builds
made.  The build keeps each unit's parse (frontend.parse.parse_text's
Unit, taken before any pass changes the tree), and the patch generator
reads it back instead of parsing the recorded unit again; a parse it
has to make itself is kept the same way, for the next patch.

The key covers everything the parse depends on: the preprocessed text,
the unit's name, the project root and the directory of the compile
(they decide which lines are the program's own), the directives replayed
before the unit, the functions compiled as written (DEGRADE, with the
reasons), and the tool's own code (a new parser or frontend gives new
keys).  A change in any of them is a new entry; an entry that cannot be
read is a miss.  Each read gives a fresh tree: the passes change it in
place.

The Unit holds one table keyed by the identity of nodes
(member_pragmas); identities do not survive a copy, so it is stored by
node and keyed again when read.
"""

import copyreg
import gc
import hashlib
import io
import json
import os
import pickle
from contextlib import contextmanager

from pycparser import c_ast
from pycparser.c_parser import Coord

from ..files import write_atomic
from .parse import parse_text

CACHE = os.path.join('.dsu', 'cache')
# A new layout of the stored form gives new keys.
_FORMAT = b'parse-1'


@contextmanager
def gc_paused():
    """Python's cycle collector, run while a parser or an unpickler makes
    hundreds of thousands of objects that all stay alive, walks them all
    again and again: half of a large unit's parse time, nine tenths of
    reading a stored tree.  The trees are freed by reference counting
    (or by the collection after the pause) all the same."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def cache_key(pre, degrade, root, cwd):
    from ..cc import tool_digest        # (cc imports the passes, which import this)
    h = hashlib.sha1(_FORMAT)
    parts = [pre.text, json.dumps([pre.source, root, cwd, pre.prelude, [
        [span.start, span.end, span.kind, str(error)] for span, error in degrade]]),
        tool_digest()]
    for part in parts:
        h.update(part.encode('latin-1', 'replace'))
        h.update(b'\0')
    return h.hexdigest()


def parse(pre, degrade, root, cwd, cache_root):
    """parse_text(PRE, DEGRADE), read from the cache under CACHE_ROOT
    (the project root) when it is there, else made and stored."""
    path = os.path.join(cache_root, CACHE, cache_key(pre, degrade, root, cwd) + '.parse')
    unit = _read(path)
    if unit is None:
        with gc_paused():
            unit = parse_text(pre, degrade)
        _write(path, unit)
    return unit


def _read(path):
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError:
        return None
    try:
        with gc_paused():
            unit, pragmas = pickle.loads(data)
    except Exception:        # a damaged or foreign entry: parse again
        return None
    unit.member_pragmas = {id(node): found for node, found in pragmas}
    return unit


def _write(path, unit):
    """Keep UNIT (before the passes change it).  A cache that cannot be
    written costs the next run a parse, never this build."""
    by_id = {}

    def collect(node):        # the nodes member_pragmas names, by identity
        if id(node) in (unit.member_pragmas or {}):
            by_id[id(node)] = node
        for _, child in node.children():
            collect(child)
    if unit.member_pragmas:
        collect(unit.ast)
    pragmas = [(by_id[k], v) for k, v in (unit.member_pragmas or {}).items() if k in by_id]
    saved, unit.member_pragmas = unit.member_pragmas, None
    try:
        with gc_paused():
            data = _dumps((unit, pragmas))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomic(path, data, encoding=None)
    except (OSError, pickle.PicklingError, RecursionError):
        pass
    finally:
        unit.member_pragmas = saved


# -- a compact form of the tree ----------------------------------------------
# pycparser's nodes have __slots__ (and a __weakref__ slot), which the
# default pickling stores as a dict per node; by position it is half the
# size and twice as fast.

_SLOTS = {}


def _slots(cls):
    if cls not in _SLOTS:
        _SLOTS[cls] = tuple(s for s in cls.__slots__ if s != '__weakref__')
    return _SLOTS[cls]


def _make_node(cls, values):
    node = cls.__new__(cls)
    for name, value in zip(_slots(cls), values):
        object.__setattr__(node, name, value)
    return node


def _reduce_node(node):
    cls = type(node)
    return _make_node, (cls, tuple(getattr(node, s, None) for s in _slots(cls)))


def _reduce_coord(coord):
    return Coord, (coord.file, coord.line, coord.column)


class _Pickler(pickle.Pickler):
    # its own table: copy.deepcopy, which reads the global one, is left as it is
    dispatch_table = dict(copyreg.dispatch_table)
    dispatch_table.update((cls, _reduce_node) for cls in vars(c_ast).values()
                          if isinstance(cls, type) and issubclass(cls, c_ast.Node)
                          and cls is not c_ast.Node)
    dispatch_table[Coord] = _reduce_coord


def _dumps(obj):
    out = io.BytesIO()
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return out.getvalue()
