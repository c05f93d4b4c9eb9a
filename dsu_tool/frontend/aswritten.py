"""Functions (and file-scope declarations) compiled as written.

A function whose body holds something the pass cannot rewrite (a nested
function, labels as values, `__auto_type`, `_Generic`, ... or anything
else the frontend or a pass refuses inside a body) does not stop the
build of its unit.  Its body is blanked for the parser (every line kept
in place, so coordinates stay right), the unit is parsed again, and
codegen emits the function's original preprocessed text where its
regenerated definition would be (passes.aswritten).  The function is
recorded with the reason and the construct's file:line: it keeps its
own symbol, gets no slot of its own, and a patch that would change it
is refused with that reason.

Top-level `asm(...);` statements are kept the same way, and so is a
declaration outside functions that the frontend refuses (an imaginary
constant or `__builtin_choose_expr` in a global's initialiser...): the
parser sees a typedef in its place, and codegen puts the text back.  The
names such a declaration declares are unknown to the pass: not in the
program's table, so patch code cannot bind to them.

Functions and declarations are found by a lexical scan of the
preprocessed text: a `{` at file scope that opens neither a type body
nor an initialiser opens a function body; a `;` there ends a declaration.
"""

import dataclasses
from dataclasses import dataclass, field

from .gnu import _TOKEN      # one tokenizer for the frontend
from .preprocess import PROJECT

_ATTR = {'__attribute__', '__attribute', '__declspec'}
_ASM = {'asm', '__asm__', '__asm'}
_TAGS = {'struct', 'union', 'enum'}
_OPEN, _CLOSE = '([{', ')]}'

# What the parser sees in place of the Kth text kept whole as written.
RAW_TYPEDEF = '__dsu_raw_%d'


@dataclass
class Tok:
    kind: str
    text: str
    row: int
    col: int


@dataclass
class Span:
    """A top-level function definition (or declaration, or asm
    statement) of the program's own code: its tokens, from the first of
    its declaration to its closing brace (or `;`)."""
    toks: list
    body: int = None          # index in toks of a function body's `{`
    kind: str = 'function'    # or 'declaration', 'asm'

    @property
    def start(self):
        return (self.toks[0].row, self.toks[0].col)

    @property
    def end(self):
        return (self.toks[-1].row, self.toks[-1].col)

    def in_body(self, row, col):
        o = self.toks[self.body]
        return (o.row, o.col) < (row, col) < self.end


@dataclass
class AsWritten:
    """A function (or a declaration) compiled as written."""
    name: str
    reason: str
    file: str
    line: int
    span: Span = None
    text: str = ''            # its tokens, spaced as written (for comparison)
    names: set = field(default_factory=set)   # identifiers it holds
    kind: str = 'function'    # or 'declaration' (outside functions)
    declares: list = field(default_factory=list)   # a declaration: its names

    def to_json(self):
        return {'name': self.name, 'kind': self.kind, 'file': self.file,
                'line': self.line, 'reason': self.reason}


def tokens(pre):
    """The tokens of the program's own code (outside headers are included
    at file scope, and leave it as they found it)."""
    toks = []
    for row, line in enumerate(pre.text.split('\n')):
        if line.startswith('#') or pre.origins[row] != PROJECT:
            continue
        for m in _TOKEN.finditer(line):
            if m.lastgroup != 'ws':
                toks.append(Tok(m.lastgroup, m.group(), row, m.start()))
    return toks


def _matching(toks, i):
    depth = 0
    for j in range(i, len(toks)):
        t = toks[j].text
        if len(t) == 1 and t in _OPEN:
            depth += 1
        elif len(t) == 1 and t in _CLOSE:
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def _opening(toks, j):
    depth = 0
    for k in range(j, -1, -1):
        t = toks[k].text
        if len(t) == 1 and t in _CLOSE:
            depth += 1
        elif len(t) == 1 and t in _OPEN:
            depth -= 1
            if depth == 0:
                return k
    return 0


def _opens_type(toks, i):
    """Does the `{` at I open a struct, union or enum body?"""
    k, tag = i - 1, False
    while k >= 0:
        t = toks[k]
        if t.text == ')' and _opening(toks, k) > 0 and \
                toks[_opening(toks, k) - 1].text in _ATTR:
            k = _opening(toks, k) - 2                 # `struct __attribute__((x)) S {`
        elif t.kind == 'id' and t.text not in _TAGS and not tag:
            tag, k = True, k - 1
        else:
            break
    return k >= 0 and toks[k].text in _TAGS


def function_spans(pre):
    """The top-level function definitions and asm statements of the
    program's own code, in order."""
    toks = tokens(pre)
    spans, starts, i = [], [], 0
    start = 0
    while i < len(toks):
        t = toks[i].text
        if t == ';':
            if start < i and pre.origins[toks[start].row] == PROJECT:
                spans.append(Span(toks[start:i + 1], kind='declaration'))
            starts.append(start)
            start = i + 1
        elif t in ('(', '['):
            i = _matching(toks, i)
        elif t == '{':
            prev = toks[i - 1].text if i else ''
            if prev == '=' or _opens_type(toks, i):
                i = _matching(toks, i)
            else:
                end = _matching(toks, i)
                first = start
                if prev == ';':               # K&R: `int f(a) int a; {`
                    for s in reversed(starts):
                        if any(toks[k].text == ')' and toks[k + 1].kind == 'id'
                               for k in range(s, i - 1)):
                            first = s
                            break
                if first < i and pre.origins[toks[i].row] == PROJECT:
                    spans.append(Span(toks[first:end + 1], i - first))
                i, start, starts = end, end + 1, []
        elif t in _ASM and i == start and i + 1 < len(toks):
            j = i + 1
            while j < len(toks) and toks[j].text in ('volatile', '__volatile__'):
                j += 1
            if j < len(toks) and toks[j].text == '(':
                close = _matching(toks, j)
                if close + 1 < len(toks) and toks[close + 1].text == ';' and \
                        pre.origins[toks[i].row] == PROJECT:
                    spans.append(Span(toks[i:close + 2], kind='asm'))
                i, start = close + 1, close + 2
        i += 1
    return spans


def where(pre, row):
    loc = pre.locs[row] if 0 <= row < len(pre.locs) else None
    return loc if loc else (pre.source, None)


def _places(pre, error):
    """(row, col) in PRE's text of the place ERROR names."""
    row = getattr(error, 'row', None)
    if row is not None:
        return [(row, error.col)]
    if error.file and error.line:
        rows = [r for r, loc in enumerate(pre.locs) if loc == (error.file, error.line)]
        # the parser's column counts in the tidied line, which may differ
        return [(r, (error.column or 1) - 1) for r in rows] + [
            (r, c) for r in rows for c in (0, 1 << 30)]
    return []


def locate(spans, pre, error):
    """The function span whose body holds the place ERROR names, or None."""
    places = _places(pre, error)
    row = getattr(error, 'row', None)
    # a whole function (weak, an alias...); or a parse error the parser
    # gave no position for: parse.py names the last line of the first
    # top-level construct that does not parse, the line of a body's `}`
    whole = getattr(error, 'whole_function', False)
    unplaced = getattr(error, 'unplaced', False) or row is None and not error.column
    for r, c in places:
        for s in spans:
            if s.kind == 'function' and (
                    s.in_body(r, c) or whole and s.start <= (r, c) <= s.end or
                    unplaced and s.toks[s.body].row <= r <= s.end[0]):
                return s
    return None


def locate_declaration(spans, pre, error):
    """The top-level declaration (outside any function) that holds the
    place ERROR names, or None."""
    places = _places(pre, error)
    functions = [s for s in spans if s.kind == 'function']
    for r, c in places:
        if any(f.start <= (r, c) <= f.end for f in functions):
            continue
        for s in spans:
            if s.kind == 'declaration' and (s.start <= (r, c) <= s.end or (
                    error.column is None and s.start[0] <= r <= s.end[0])):
                return s
    return None


def declared_names(span):
    """The names a declaration declares (approximately: each name that
    a declarator ends in, outside brackets)."""
    toks, depth, names = span.toks, 0, []
    for k, t in enumerate(toks[:-1]):
        if t.text in ('(', '[', '{'):
            depth += 1
        elif t.text in (')', ']', '}'):
            depth -= 1
        elif depth == 0 and t.kind == 'id' and toks[k + 1].text in ('=', '[', ';', ',', ':'):
            names.append(t.text)
    return names


def declaration_record(pre, span, error):
    file, line = error.file, error.line
    if not file:
        file, line = where(pre, span.toks[0].row)
    names = declared_names(span)
    return AsWritten(names[0] if names else 'a declaration', error.message, file, line,
                     span, token_text(span), {t.text for t in span.toks if t.kind == 'id'},
                     kind='declaration', declares=names)


def blank(pre, spans):
    """PRE with the bodies of function SPANS (and other SPANS whole)
    blanked; a whole span becomes a typedef that codegen replaces."""
    lines = pre.text.split('\n')
    for k, s in enumerate(spans):
        if s.kind != 'function':
            first, last = s.toks[0], s.toks[-1]
            a, b = (first.row, first.col), (last.row, last.col + 1)
            stand_in = 'typedef int %s;' % (RAW_TYPEDEF % k)
        else:
            o = s.toks[s.body]
            a, b = (o.row, o.col + 1), s.end
            stand_in = ''
        for row in range(a[0], b[0] + 1):
            line = lines[row]
            if line.startswith('#'):
                continue
            lo = a[1] if row == a[0] else 0
            hi = b[1] if row == b[0] else len(line)
            piece = stand_in if row == a[0] else ''
            lines[row] = line[:lo] + piece.ljust(hi - lo) + line[hi:]
    return dataclasses.replace(pre, text='\n'.join(lines))


def original_text(pre, span, rename=None):
    """The C text of SPAN as written, with `#line` markers that keep the
    user's coordinates; identifiers in RENAME (source name -> name in the
    generated unit) renamed, unless they name a member (`.x`, `->x`)."""
    lines = pre.text.split('\n')
    out, prev = [], None
    edits = {}
    for k, t in enumerate(span.toks):
        if rename and t.kind == 'id' and t.text in rename and \
                not (k and span.toks[k - 1].text in ('.', '->')):
            edits.setdefault(t.row, []).append((t.col, t.col + len(t.text), rename[t.text]))
    expected = None
    for row in range(span.start[0], span.end[0] + 1):
        line = lines[row]
        if line.startswith('#'):
            continue                     # a line marker; #line below instead
        lo = span.start[1] if row == span.start[0] else 0
        hi = span.end[1] + len(span.toks[-1].text) if row == span.end[0] else len(line)
        for col, end, new in sorted(edits.get(row, []), reverse=True):
            line = line[:col] + new + line[end:]
            if col < hi:
                hi += len(new) - (end - col)
        loc = pre.locs[row]
        if loc and loc != expected:
            out.append('#line %d "%s"\n' % (loc[1], loc[0].replace('\\', '\\\\')
                                            .replace('"', '\\"')))
        expected = (loc[0], loc[1] + 1) if loc else None
        out.append(' ' * lo + line[lo:hi] + '\n')
        prev = row
    return ''.join(out) if prev is not None else ''


def token_text(span):
    return ' '.join(t.text for t in span.toks)


def describe(error):
    """The reason an error gives for compiling a function as written."""
    return error.message


def mark(unit_ast, pre, spans, degraded, is_project):
    """AsWritten records for the DEGRADED (span, error) pairs, matched to
    the function definitions of the parsed unit by the line of their
    body's `{` and their order on that line (a macro may define several
    functions on one line)."""
    from pycparser import c_ast
    defs = [e for e in unit_ast.ext if isinstance(e, c_ast.FuncDef) and is_project(e)]
    out = {}
    for span, error in degraded:
        o = span.toks[span.body]
        at = where(pre, o.row)
        same_line = [s for s in spans if s.kind == 'function' and
                     where(pre, s.toks[s.body].row) == at]
        candidates = [d for d in defs if d.body.coord is not None and
                      (d.body.coord.file, d.body.coord.line) == at]
        k = same_line.index(span)
        if k >= len(candidates):
            raise error
        d = candidates[k]
        file, line = error.file, error.line
        if not file:
            file, line = where(pre, o.row)
        out[d.decl.name] = AsWritten(
            d.decl.name, describe(error), file, line, span, token_text(span),
            {t.text for t in span.toks if t.kind == 'id'})
    return out
