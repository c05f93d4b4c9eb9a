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

dsu_tool.pickling stores it, fast; the one table of the Unit keyed by
node identity (member_pragmas) is stored by node and keyed again when
read.
"""

import hashlib
import json
import os
import pickle
import threading

from ..cachelimit import CACHE
from ..files import write_atomic
from ..pickling import dumps, gc_paused, load_entry
from .parse import parse_text

# A new layout of the stored form gives new keys.
_FORMAT = b'parse-3'


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


def parse(pre, degrade, root, cwd, cache_root, background=False):
    """parse_text(PRE, DEGRADE), read from the cache under CACHE_ROOT
    (the project root) when it is there, else made and stored.
    BACKGROUND: a forked process stores it (the build's compile goes on
    meanwhile; finish_background() waits for it)."""
    path = os.path.join(cache_root, CACHE, cache_key(pre, degrade, root, cwd) + '.parse')
    unit = _read(path)
    if unit is None:
        with gc_paused():
            unit = parse_text(pre, degrade)
        if not (background and in_background(lambda: _write(path, unit))):
            _write(path, unit)
    return unit


_children = []


def in_background(work):
    """Run WORK() in a child process, which has the program's objects as
    they are now (the caller goes on changing its own copy): storing a
    tree costs a fifth to a half of making it, which the caller need not
    wait for.  False when it was not started: no child can be made, or
    other threads run (SCons -j: a child of a threaded process may find
    a lock held forever), and the caller does WORK itself."""
    if threading.active_count() > 1:
        return False
    try:
        pid = os.fork()
    except OSError:
        return False
    if pid == 0:
        try:
            work()
        finally:
            os._exit(0)       # no exit handlers, no flush of the parent's buffers
    _children.append(pid)
    return True


def finish_background():
    """Wait for the processes storing parses and units (a build step or a
    patch ends with its files written)."""
    while _children:
        try:
            os.waitpid(_children.pop(), 0)
        except ChildProcessError:
            pass


def _read(path):
    kept = load_entry(path)
    try:
        unit, pragmas = kept
        unit.member_pragmas = {id(node): found for node, found in pragmas}
    except (TypeError, ValueError, AttributeError):   # none, or not ours: parse again
        return None
    return unit


def _write(path, unit):
    """Keep UNIT (before the passes change it).  A cache that cannot be
    written costs the next run a parse, never this build.  Its one table
    keyed by node identity, member_pragmas, is stored by node: the
    general survey for such tables (pickling.dumps) would cost as much as
    the dump itself, on every unit the build compiles."""
    by_id = {}
    if unit.member_pragmas:
        for node in _nodes(unit.ast):
            if id(node) in unit.member_pragmas:
                by_id[id(node)] = node
    pragmas = [(by_id[k], v) for k, v in (unit.member_pragmas or {}).items() if k in by_id]
    saved, unit.member_pragmas = unit.member_pragmas, None
    try:
        data = dumps((unit, pragmas), identity_tables=False)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomic(path, data, encoding=None)
    except (OSError, pickle.PicklingError, RecursionError):
        pass
    finally:
        unit.member_pragmas = saved


def _nodes(node):
    todo = [node]
    while todo:
        node = todo.pop()
        yield node
        todo.extend(child for _, child in node.children())
