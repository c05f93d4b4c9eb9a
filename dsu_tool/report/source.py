"""A function's text as its developer wrote it, from a recorded unit.

The version store keeps each unit preprocessed (.i), with line markers:
the lines of the program's own files are there as written (comments and
macro definitions gone, macro uses expanded), so a diff of two versions
reads like a diff of the sources, with their real line numbers, even when
the sources of the old version are long gone from the working tree.
"""

import os
import re

_MARKER = re.compile(r'^#\s*(?:line\s+)?(\d+)\s+"((?:[^"\\]|\\.)*)"')
_LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
MAX_LINES = 5000


def _same_file(marker, file, manifest):
    if marker == file or os.path.normpath(marker) == os.path.normpath(file):
        return True
    cwd, root = manifest.get('cwd', ''), manifest.get('root', '')
    return bool(cwd and root) and os.path.normpath(
        os.path.relpath(os.path.join(cwd, marker), root)) == os.path.normpath(file)


def _is_head(text):
    """A line that may belong to the head of a definition starting below it
    (`static int` above `name(void)`, the GNU layout)."""
    s = text.strip()
    return bool(s) and not s.startswith('#') and not s.endswith((';', '}', '{', ')'))


def definition_lines(manifest, i_path, file, line):
    """(first line number, lines) of the definition at FILE:LINE in the
    recorded unit, or None when it cannot be found there."""
    try:
        with open(i_path, encoding='latin-1') as f:
            lines = f.read().split('\n')
    except OSError:
        return None
    current, number, start = None, 0, None
    for idx, text in enumerate(lines):
        m = _MARKER.match(text)
        if m:
            number, current = int(m.group(1)), m.group(2)
            continue
        if number == line and current is not None and _same_file(current, file, manifest):
            start = idx
            break
        number += 1
    if start is None:
        return None
    first = line
    while start > 0 and first > 1 and _is_head(lines[start - 1]) and line - first < 3:
        start, first = start - 1, first - 1
    out, depth, opened = [], 0, False
    for text in lines[start:start + MAX_LINES]:
        if _MARKER.match(text):
            continue            # a jump over blank lines inside the body
        out.append(text)
        code = _LITERAL.sub('""', text)
        for ch in code:
            if ch == '{':
                depth, opened = depth + 1, True
            elif ch == '}':
                depth -= 1
        if opened and depth <= 0:
            return first, out
        if not opened and code.rstrip().endswith(';'):
            return None         # a declaration, not a definition
    return None


_HUNK = re.compile(r'^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@')


def shift_hunks(diff, old_first, new_first):
    """Hunk headers of a unified diff of two excerpts, renumbered to the
    lines of their files."""
    def at(start, first):
        return int(start) + first - 1 if int(start) else 0    # 0: an empty side

    def renumber(m):
        return '@@ -%d%s +%d%s @@' % (at(m.group(1), old_first), m.group(2) or '',
                                      at(m.group(3), new_first), m.group(4) or '')
    return [_HUNK.sub(renumber, line) if line.startswith('@@') else line for line in diff]
