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

dsu_tool.pickling stores it (fast, and with the tables keyed by node
identity keyed again when read).
"""

import hashlib
import json
import os
import pickle

from ..files import write_atomic
from ..pickling import dumps, gc_paused, loads
from .parse import parse_text

CACHE = os.path.join('.dsu', 'cache')
# A new layout of the stored form gives new keys.
_FORMAT = b'parse-2'


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
        return loads(data)
    except Exception:        # a damaged or foreign entry: parse again
        return None


def _write(path, unit):
    """Keep UNIT (before the passes change it).  A cache that cannot be
    written costs the next run a parse, never this build."""
    try:
        data = dumps(unit)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomic(path, data, encoding=None)
    except (OSError, pickle.PicklingError, RecursionError):
        pass
