"""Parse one translation unit: preprocess, tidy, pycparser."""

import copy
import re
from dataclasses import dataclass

from pycparser import c_ast, c_parser

from .aswritten import (RAW_TYPEDEF, blank, declaration_record, function_spans, locate,
                        locate_declaration, mark, original_text)
from . import headers
from .errors import DsuError
from .gnu import PARSER_PRELUDE, tidy
from .preprocess import PROJECT, preprocess

_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_PARSE_ERROR = re.compile(r'^(.*?):(\d+)(?::(\d+))?: (.*)$', re.S)


@dataclass
class Unit:
    """A parsed translation unit and what codegen needs to regenerate it."""
    source: str
    ast: object
    pre: object              # frontend.preprocess.Preprocessed
    attributes: list         # frontend.gnu.Attribute, program code only
    project_files: set       # files whose declarations are regenerated
    asm: list = None         # asm statement templates (frontend.gnu)
    # id(struct or union node) -> [(index, Pragma)]: `#pragma` lines inside
    # a member list, taken out so that every member is a declaration, and
    # put back by codegen (codegen.cgen) before the member at INDEX
    member_pragmas: dict = None
    as_written: dict = None  # function name -> frontend.aswritten.AsWritten
    raw: dict = None         # typedef name -> top-level text kept as written
    raw_kinds: dict = None   # typedef name -> 'asm statement' or 'declaration'
    raw_declarations: list = None   # frontend.aswritten.AsWritten of those that are
                                    # declarations the parser could not take
    # user's function -> passes.continuations.Kept: why the code after one
    # of its calls that lead to an update point stays in it
    kept_in_place: dict = None

    def is_project(self, node):
        return node.coord is not None and node.coord.file in self.project_files


def parse_text(pre, degrade=()):
    """Parse PRE.  A function whose body the frontend cannot take, or one
    of DEGRADE (spans of frontend.aswritten, with the error that a pass
    raised in them), is parsed with an empty body and recorded as
    written; top-level asm statements are kept as written."""
    spans = function_spans(pre)
    raw = [(s, None) for s in spans if s.kind == 'asm']
    degraded = list(degrade)
    while True:
        blanked = blank(pre, [s for s, _ in raw + degraded])
        try:
            unit = _parse(blanked, pre)
            unit.as_written = mark(unit.ast, pre, spans, degraded, unit.is_project)
            break
        except DsuError as e:
            span = locate(spans, pre, e)
            if span is not None and span not in [s for s, _ in degraded]:
                degraded.append((span, e))
                continue
            # a declaration outside functions: kept as written whole
            span = locate_declaration(spans, pre, e)
            if span is None or span in [s for s, _ in raw]:
                raise
            raw.append((span, e))
    unit.raw = {RAW_TYPEDEF % k: original_text(pre, s) for k, (s, _) in enumerate(raw)}
    unit.raw_kinds = {RAW_TYPEDEF % k: 'asm statement' if e is None else 'declaration'
                      for k, (s, e) in enumerate(raw)}
    unit.raw_declarations = [declaration_record(pre, s, e) for s, e in raw if e is not None]
    return unit


def _parse(blanked, pre):
    """Parse the text BLANKED; messages and coordinates name PRE's places."""
    text, attributes, asm = tidy(blanked)
    prelude = '# 1 "<dsu-builtins>"\n' + PARSER_PRELUDE
    # The parser sees the prelude first; a line marker right after it puts
    # the coordinates of the real text back on track.
    first = '# 1 "%s"\n' % pre.source
    # the headers it starts with, parsed once and kept (frontend.headers)
    ast = headers.parse(prelude + first, text, pre)
    if ast is None:
        parser = c_parser.CParser()
        try:
            ast = parser.parse(prelude + first + text, filename=pre.source)
        except c_parser.ParseError as e:
            raise _locate(str(e), blanked, text) from None
    project_files = {loc[0] for loc, origin in zip(pre.locs, pre.origins)
                     if loc and origin == PROJECT}
    define_types_once(ast)
    unit = Unit(pre.source, ast, pre, attributes, project_files, asm)
    unit.member_pragmas = _take_member_pragmas(ast)
    for ext in ast.ext:
        if isinstance(ext, c_ast.FuncDef) and unit.is_project(ext):
            _name_functions(ext)
    return unit


def _take_member_pragmas(ast):
    found = {}

    class V(c_ast.NodeVisitor):
        def generic_visit(self, node):
            if isinstance(node, (c_ast.Struct, c_ast.Union)) and node.decls and any(
                    isinstance(d, c_ast.Pragma) for d in node.decls):
                kept, pragmas = [], []
                for d in node.decls:
                    if isinstance(d, c_ast.Pragma):
                        pragmas.append((len(kept), d))
                    else:
                        kept.append(d)
                node.decls = kept
                found[id(node)] = pragmas
            for _, child in node.children():
                self.visit(child)
    V().visit(ast)
    return found


_FUNC_NAMES = ('__func__', '__FUNCTION__', '__PRETTY_FUNCTION__')


def _name_functions(funcdef):
    """The passes rename function bodies and move loop bodies into new
    functions: `__func__` becomes the string it means here, the user's
    function name.  And a `main` that ends without `return` returns 0
    (C99), which its renamed body would not do by itself."""
    name = funcdef.decl.name

    class V(c_ast.NodeVisitor):
        def generic_visit(self, node):
            for attr, child in node.children():
                if isinstance(child, c_ast.ID) and child.name in _FUNC_NAMES:
                    set_child(node, attr, c_ast.Constant('string', '"%s"' % name,
                                                         child.coord))
                else:
                    self.visit(child)
    V().visit(funcdef.body)
    if name == 'main':
        ret = funcdef.decl.type.type
        if isinstance(ret, c_ast.TypeDecl) and isinstance(ret.type, c_ast.IdentifierType) \
                and ret.type.names == ['int']:
            items = funcdef.body.block_items or []
            funcdef.body.block_items = items + [c_ast.Return(c_ast.Constant('int', '0'))]


_INDEX = re.compile(r'^(\w+)\[(\d+)\]$')


def set_child(parent, name, new):
    """Replace the child that pycparser's children() calls NAME
    (`stmt`, or `block_items[2]` for a list member)."""
    m = _INDEX.match(name)
    if m:
        getattr(parent, m.group(1))[int(m.group(2))] = new
    else:
        setattr(parent, name, new)


def define_types_once(ast):
    """`struct a {...} x, y;` gives two declarations that share one
    definition node; regenerated apart, each would define the struct.  The
    second and later ones get a reference (`struct a`) instead."""
    seen = set()

    def fix(decl):
        parent, ty = decl, decl.type
        while isinstance(ty, (c_ast.PtrDecl, c_ast.ArrayDecl, c_ast.TypeDecl, c_ast.FuncDecl)):
            parent, ty = ty, ty.type
        members = 'values' if isinstance(ty, c_ast.Enum) else 'decls'
        if not isinstance(ty, (c_ast.Struct, c_ast.Union, c_ast.Enum)) or \
                getattr(ty, members) is None:
            return
        if id(ty) in seen and ty.name:
            reference = copy.copy(ty)
            setattr(reference, members, None)
            parent.type = reference
        seen.add(id(ty))

    class Once(c_ast.NodeVisitor):       # each declaration exactly once
        def visit_Decl(self, node):
            fix(node)
            self.generic_visit(node)

        visit_Typedef = visit_Decl
    Once().visit(ast)


# what the parser's own words mean in the user's terms
_PARSER_WORDS = {
    'Directives not supported yet': 'a preprocessor directive (#pragma, #ident, ...) in '
                                    'a place where the dsu pass cannot keep it',
}


def _locate(message, pre, text):
    m = _PARSE_ERROR.match(message)
    if m:
        words = _PARSER_WORDS.get(m.group(4).strip(), m.group(4))
        return DsuError('cannot parse: ' + words, m.group(1),
                        int(m.group(2)), int(m.group(3)) if m.group(3) else None)
    # pycparser sometimes gives no line ("file: Invalid expression"); point
    # at the last line of the program's own code that the parser accepted
    # is not knowable from outside, so find the first project line that
    # does not parse on its own as part of a prefix of the text.
    msg = message.split(': ', 1)[-1]
    error = DsuError('cannot parse: %s (position not reported by the parser; '
                     'first suspicious line shown)' % msg, *_first_bad_line(pre, text))
    error.unplaced = True          # for frontend.aswritten.locate
    return error


def _first_bad_line(pre, text):
    """Bisect on whole top-level chunks of the program's own code."""
    lines = text.split('\n')
    parser = c_parser.CParser()
    prelude = '# 1 "<dsu-builtins>"\n' + PARSER_PRELUDE + '# 1 "%s"\n' % pre.source

    def parses(n):
        try:
            parser.parse(prelude + '\n'.join(lines[:n]), filename=pre.source)
            return True
        except c_parser.ParseError:
            return False
    # candidate cut points: ends of top-level constructs (brace depth 0),
    # where "a prefix parses" is monotonic
    cuts, depth = [], 0
    for i, line in enumerate(lines):
        if line.startswith('#'):
            continue
        code = _LITERAL.sub('""', line)
        depth += code.count('{') - code.count('}')
        if depth == 0 and code.rstrip().endswith((';', '}')):
            cuts.append(i + 1)
    lo, hi = 0, len(cuts)
    while lo < hi:
        mid = (lo + hi) // 2
        if parses(cuts[mid]):
            lo = mid + 1
        else:
            hi = mid
    row = cuts[lo] - 1 if lo < len(cuts) else len(lines) - 1
    while row > 0 and pre.locs[row] is None:
        row -= 1
    loc = pre.locs[row] if row < len(pre.locs) else None
    return (loc[0], loc[1]) if loc else (pre.source, None)


def parse_unit(cc, args, source, root, cwd=None):
    return parse_text(preprocess(cc, args, source, root, cwd))
