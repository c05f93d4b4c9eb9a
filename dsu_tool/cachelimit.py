"""A bound on the size of the project's cache, .dsu/cache.

The cache keeps, per unit and per version of the tool, the generated C,
the parse and what `scons patch` reads back (cc, frontend.parsecache,
patchgen.load): about 14 MB per version of a program of redis's size.
Every entry can be made again (a miss costs a parse, never a wrong
result), so when the cache outgrows its bound the entries used longest
ago go first: a hit sets the entry's time (touch), and each link and
each patch ends by pruning (prune).

The bound is $DSU_CACHE_SIZE: bytes, or with a suffix K, M or G (powers
of 1024); 0 keeps nothing once the run is over.  Default: 1G.
"""

import os
import stat
import time

from .frontend.errors import DsuError

CACHE = os.path.join('.dsu', 'cache')
DEFAULT = 1 << 30
_UNITS = {'': 1, 'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}
# a file being written (files.write_atomic names it ".NAME.XXX.tmp") is
# left alone for this long: a build may be writing it now
_WRITING = 3600


def limit(environ=None):
    """The bound in bytes, from $DSU_CACHE_SIZE.  Raises DsuError when it
    cannot be read: a bound taken wrong would empty or fill the cache."""
    text = (environ if environ is not None else os.environ).get('DSU_CACHE_SIZE', '').strip()
    if not text:
        return DEFAULT
    number, unit = text, ''
    if text[-1:].upper() in _UNITS:
        number, unit = text[:-1], text[-1].upper()
    if not number.isdigit():
        raise DsuError("DSU_CACHE_SIZE is '%s': give a size in bytes, or with a suffix "
                       "K, M or G (for instance 500M)" % text)
    return int(number) * _UNITS[unit]


def touch(path):
    """Mark the entry PATH as used now (a hit)."""
    try:
        os.utime(path)
    except OSError:
        pass


def prune(root, bound=None):
    """Remove the entries of ROOT's cache used longest ago until what is
    left fits in BOUND bytes (default: limit()).  Returns the number of
    bytes removed.  A file another process removes meanwhile is skipped;
    a cache that cannot be read or pruned costs nothing but space."""
    return prune_directory(os.path.join(root, CACHE), limit() if bound is None else bound)


def prune_directory(directory, bound):
    """prune() for the cache DIRECTORY (the project's, or the machine's
    parsed headers: frontend.headers)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    now = time.time()
    entries, total = [], 0
    for name in names:
        path = os.path.join(directory, name)
        try:
            st = os.stat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if name.startswith('.') and name.endswith('.tmp') and now - st.st_mtime < _WRITING:
            continue
        entries.append((st.st_mtime, name, st.st_size))
        total += st.st_size
    removed = 0
    for _, name, size in sorted(entries):
        if total - removed <= bound:
            break
        try:
            os.remove(os.path.join(directory, name))
        except OSError:
            continue
        removed += size
    return removed
