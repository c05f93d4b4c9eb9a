"""The parse of the headers a unit starts with, kept between units and
builds.

Most of a small unit's preprocessed text is the system headers it
includes first (kvd's net.c: 3,200 of 3,500 lines), and most of its
parse goes to them, again in every build.  A unit's
prefix is its text up to the first line of the program's own code (the
parser's prelude, then the headers outside the project); it is parsed
alone, and its declarations and the parser's table of the names it
made types are kept under the machine's cache directory (that of the
compiled runtimes, runtimelib.runtime_cache_dir), keyed by the exact
text and the tool's code.  The unit's own name in the prefix's line
markers is replaced by one name for every unit (no node of the headers
takes its place from it; a prefix where one would is not kept), so that
units which start with the same headers, in one project or another,
share an entry.  The rest of the unit is then parsed with that
table, starting at a line marker that gives its first line the place it
has in the whole text: the tree and every coordinate are those a parse
of the whole text makes.

A prefix is only used when it parses alone and the rest parses after it;
otherwise, or when nothing can be read or written, the unit is parsed
whole as before (a miss costs a parse, never a different tree).  Each
read gives fresh nodes: the passes change the tree in place.  The
entries are bounded like the project's cache ($DSU_CACHE_SIZE, used
longest ago removed first), and `DSU_HEADER_CACHE=0` turns this off.
"""

import hashlib
import os
import re

from pycparser import c_ast, c_parser

from ..cachelimit import limit, prune_directory
from ..files import write_atomic
from ..pickling import dumps, load_entry
from .errors import DsuError
from .preprocess import PROJECT

_FORMAT = b'headers-1'
# a prefix with fewer lines of code than this is parsed with the unit:
# reading it back would not pay
_SHORTEST = 100
_UNIT = '"<dsu-unit>"'
_MARKER = re.compile(r'#\s*(\d+)\s+("(?:[^"\\]|\\.)*")')


class _Parser(c_parser.CParser):
    """pycparser's parser, started with the type names a prefix left."""

    def parse_after(self, text, filename, names):
        self._seed = names
        try:
            return self.parse(text, filename=filename)
        finally:
            self._seed = None

    def _parse_translation_unit_or_empty(self):
        if getattr(self, '_seed', None):
            self._scope_stack[0].update(self._seed)
        return super()._parse_translation_unit_or_empty()


def directory():
    from ..runtimelib import runtime_cache_dir
    return os.path.join(runtime_cache_dir(), 'headers')


def split_point(lines, origins):
    """The index of the first line of the program's own code in LINES
    (the parser's text, a line per line of the unit), or None."""
    for i, (line, origin) in enumerate(zip(lines, origins)):
        if origin == PROJECT and line.strip() and not line.lstrip().startswith('#'):
            return i
    return None


def parse(head, text, pre):
    """The FileAST of HEAD + TEXT (HEAD: the parser's prelude and the
    unit's first line marker, TEXT: the unit's tidied text, a line per
    line of PRE), with the prefix's parse read from the cache or made and
    kept; None when the unit must be parsed whole."""
    if os.environ.get('DSU_HEADER_CACHE', '1') == '0':
        return None
    lines = text.split('\n')
    if len(lines) != len(pre.origins):
        return None
    at = split_point(lines, pre.origins)
    if at is None or sum(1 for line in lines[:at] if line.strip() and
                         not line.lstrip().startswith('#')) < _SHORTEST:
        return None
    rest = _marker(head, lines, at) + '\n'.join(lines[at:])
    prefix = _anonymous(head.splitlines(), lines[:at], pre.source)
    path = os.path.join(directory(), _key(prefix) + '.parse')
    kept = _read(path)
    try:
        if kept is None:
            parser = _Parser()
            ast = parser.parse(prefix, filename=pre.source)
            if _names_the_unit(ast):
                return None
            names = dict(parser._scope_stack[0])
            _write(path, ast.ext, names)
            ext = ast.ext
        else:
            ext, names = kept
        tail = _Parser().parse_after(rest, pre.source, names)
    except c_parser.ParseError:
        return None                  # the whole parse says where, and why
    return c_ast.FileAST(list(ext) + list(tail.ext), coord=None)


def _anonymous(head, lines, source):
    """HEAD and LINES (the unit's first lines) as one text, the unit's own
    name in their line markers replaced by one for every unit: the
    headers' parse does not depend on it, and units that start with the
    same headers share an entry."""
    own = {'"%s"' % source}            # as the parser's head spells it
    m = _MARKER.match(lines[0]) if lines else None
    if m:
        own.add(m.group(2))            # as cpp does: its first line names the unit

    def anonymous(line):
        m = _MARKER.match(line)
        if m and m.group(2) in own:
            return line[:m.start(2)] + _UNIT + line[m.end(2):]
        return line
    return '\n'.join(anonymous(line) for line in head + lines) + '\n'


def _names_the_unit(ast):
    """Does a node of AST take its place from the unit's own (replaced)
    name?  Then the kept tree would name no file: not kept."""
    todo = [ast]
    while todo:
        node = todo.pop()
        if node.coord is not None and node.coord.file == _UNIT[1:-1]:
            return True
        todo.extend(child for _, child in node.children())
    return False


def _marker(head, lines, at):
    """A line marker that numbers line AT of LINES as the whole text does."""
    for i in range(at - 1, -1, -1):
        m = _MARKER.match(lines[i])
        if m:
            return '# %d %s\n' % (int(m.group(1)) + at - i - 1, m.group(2))
    m = list(_MARKER.finditer(head))[-1]
    return '# %d %s\n' % (int(m.group(1)) + at, m.group(2))


def _key(prefix):
    from ..cc import tool_digest        # (cc imports the frontend)
    h = hashlib.sha1(_FORMAT)
    for part in (tool_digest(), prefix):
        h.update(part.encode('latin-1', 'replace'))
        h.update(b'\0')
    return h.hexdigest()


def _read(path):
    kept = load_entry(path)
    try:
        ext, names = kept
    except (TypeError, ValueError):       # none, or not ours: parse again
        return None
    return ext, names


def _write(path, ext, names):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomic(path, dumps((ext, names), identity_tables=False), encoding=None)
    except (OSError, RecursionError):
        return
    try:
        prune_directory(os.path.dirname(path), limit())
    except DsuError:
        pass                     # a bad bound is said at link time (cachelimit)
