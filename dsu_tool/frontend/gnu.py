"""Tidy GNU C so that pycparser can parse it, without losing meaning.

Outside headers are only parsed for their declarations (they are included
again, never regenerated), so there GNU extensions are simply blanked and
inline function bodies dropped.  In the program's own code every rewrite
must be undoable: keywords get their standard spelling, a few builtins
that take a type are wrapped in a form the parser accepts (codegen turns
them back), and `__attribute__` specifiers are recorded with their
position and blanked, so that codegen can put them back.  A construct we
cannot keep is refused with its file and line: in a function body (or a
declaration outside functions), that function (or declaration) is then
compiled as written (frontend.aswritten).

Edits keep every line in place (and, where the replacement is not longer,
every column), so parser coordinates still point at the user's source.
"""

import re
from dataclasses import dataclass

from .errors import DsuError
from .preprocess import PROJECT

_TOKEN = re.compile(r'''
  (?P<ws>[ \t\f\v\r]+)
| (?P<str>(?:u8|[uUL])?"(?:[^"\\\n]|\\.)*")
| (?P<chr>(?:u8|[uUL])?'(?:[^'\\\n]|\\.)*')
| (?P<id>(?:[A-Za-z_$\x80-\xff]|\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8})
           (?:[\w$\x80-\xff]|\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8})*)
| (?P<num>\.?\d(?:[eEpP][+-]|[\w.])*)
| (?P<punct>\.\.\.|<<=|>>=|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^]=|.)
''', re.X)

# Same meaning, standard spelling.
_RESPELL = {
    '__restrict': 'restrict', '__restrict__': 'restrict',
    '__inline': 'inline', '__inline__': 'inline',
    '__volatile': 'volatile', '__volatile__': 'volatile',
    '__const': 'const', '__const__': 'const',
    '__signed': 'signed', '__signed__': 'signed',
    '__alignof': '_Alignof', '__alignof__': '_Alignof',
    '__thread': '_Thread_local',
    '__builtin_offsetof': 'offsetof',
    '_Noreturn': '', '__extension__': '',   # (_Noreturn of the program: an attribute)
    '__complex__': '_Complex', '__complex': '_Complex',
}

# Types the parser does not know.  Outside headers get a stand-in of
# the same kind; the program's own code gets a typedef name that codegen
# defines as the real type.
EXTENDED_TYPES = {
    '__int128': '__dsu_int128', '_Float128': '__dsu_float128',
    '__float128': '__dsu_float128', '_Float64x': '__dsu_float64x',
    '_Float32': '__dsu_float32', '_Float64': '__dsu_float64',
    '_Float32x': '__dsu_float32x', '_Float16': '__dsu_float16',
    '__bf16': '__dsu_bf16',
}
EXTENDED_TYPEDEFS = {
    '__dsu_int128': '__int128', '__dsu_uint128': 'unsigned __int128',
    '__dsu_float128': '_Float128', '__dsu_float64x': '_Float64x',
    '__dsu_float32': '_Float32', '__dsu_float64': '_Float64',
    '__dsu_float32x': '_Float32x', '__dsu_float16': '_Float16',
    '__dsu_bf16': '__bf16',
}

# Typedef names gcc knows without a declaration; given to the parser only.
PARSER_PRELUDE = ''.join(
    'typedef int %s;\n' % name for name in
    ['__builtin_va_list', '__int128_t', '__uint128_t'] + sorted(EXTENDED_TYPEDEFS))

_ASM = {'__asm__', '__asm', 'asm'}
ASM_CALL = '__dsu_asm'       # what an asm statement becomes for the parser
_ATTR = {'__attribute__', '__attribute'}
_UNSUPPORTED = {
    '__typeof__': 'typeof', '__typeof': 'typeof', 'typeof': 'typeof',
    '__auto_type': '__auto_type', '__label__': 'local labels (__label__)',
    '__builtin_types_compatible_p': '__builtin_types_compatible_p',
    '__builtin_choose_expr': '__builtin_choose_expr',
    '_Generic': '_Generic selections',
    '__real__': '__real__', '__imag__': '__imag__',
    '__real': '__real', '__imag': '__imag',
    '_Decimal32': '_Decimal32 (decimal floating point)',
    '_Decimal64': '_Decimal64 (decimal floating point)',
    '_Decimal128': '_Decimal128 (decimal floating point)',
    '__builtin_complex': '__builtin_complex',
    '__builtin_va_arg_pack': '__builtin_va_arg_pack (it needs an always-inlined caller)',
    '__builtin_va_arg_pack_len': '__builtin_va_arg_pack_len',
}
_CONTROL = {'if', 'while', 'for', 'switch', 'return', 'sizeof', '_Alignof', 'else', 'do'}
_STORAGE = {'static', 'extern', 'register', 'auto'}
_KEYWORDS = {'auto', 'break', 'case', 'char', 'const', 'continue', 'default', 'do',
             'double', 'else', 'enum', 'extern', 'float', 'for', 'goto', 'if', 'inline',
             'int', 'long', 'register', 'restrict', 'return', 'short', 'signed', 'sizeof',
             'static', 'struct', 'switch', 'typedef', 'union', 'unsigned', 'void',
             'volatile', 'while', '_Bool', '_Complex', '_Thread_local', '_Alignas',
             '_Alignof', '_Static_assert', '__attribute__', '__attribute'}
_OPERAND_END = {')', ']'}


@dataclass
class Attribute:
    """An `__attribute__((...))` in the program's own code.

    `where` is 'type' for one that follows struct/union/enum or the closing
    brace of their body, else 'decl'.  `anchor` is the (file, line, col)
    the attribute belongs to: the tag (or `{`) of a type, or the span of
    its declarator (start, end) for a declaration attribute, in parser
    coordinates."""
    text: str
    file: str
    line: int
    where: str
    anchor: tuple
    in_parens: bool
    # a declaration attribute: where it stands, the span of the whole
    # declaration, and whether it stands among the declaration specifiers
    # (before any declarator), where it belongs to every declarator
    pos: tuple = None
    declaration: tuple = None
    shared: bool = False


class _Tok:
    __slots__ = ('kind', 'text', 'row', 'col')

    def __init__(self, kind, text, row, col):
        self.kind, self.text, self.row, self.col = kind, text, row, col


class Tidier:
    def __init__(self, pre):
        self.pre = pre
        self.lines = pre.text.split('\n')
        self.edits = {}          # row -> list of (col, end, replacement)
        self.attributes = []
        self.asm = []            # asm statement texts, operands as {0}, {1}...
        self.toks = self._tokenize()

    # -- tokens and edits -------------------------------------------------

    def _tokenize(self):
        toks = []
        for row, line in enumerate(self.lines):
            if line.startswith('#'):
                continue
            for m in _TOKEN.finditer(line):
                if m.lastgroup != 'ws':
                    toks.append(_Tok(m.lastgroup, m.group(), row, m.start()))
        return toks

    def origin(self, tok):
        return self.pre.origins[tok.row]

    def where(self, tok):
        loc = self.pre.locs[tok.row]
        return loc if loc else (self.pre.source, None)

    def fail(self, tok, message):
        file, line = self.where(tok)
        error = DsuError(message, file, line, tok.col + 1)
        error.row, error.col = tok.row, tok.col     # for frontend.aswritten.locate
        raise error

    def replace(self, tok, text):
        self.edits.setdefault(tok.row, []).append(
            (tok.col, tok.col + len(tok.text), text))

    def blank(self, i, j):
        for tok in self.toks[i:j + 1]:
            self.replace(tok, '')

    def matching(self, i):
        """Index of the token closing the bracket at index I."""
        pairs = {'(': ')', '[': ']', '{': '}'}
        opener, closer, depth = self.toks[i].text, pairs[self.toks[i].text], 0
        for j in range(i, len(self.toks)):
            t = self.toks[j].text
            if t == opener:
                depth += 1
            elif t == closer:
                depth -= 1
                if depth == 0:
                    return j
        self.fail(self.toks[i], "unbalanced '%s'" % opener)

    def next_is(self, i, text):
        return i + 1 < len(self.toks) and self.toks[i + 1].text == text

    def result(self):
        lines = list(self.lines)
        for row, edits in self.edits.items():
            line = lines[row]
            edits = sorted(edits)
            padded = [(col, end, text + ' ' * max(0, end - col - len(text)))
                      for col, end, text in edits]
            if all(a[1] <= b[0] for a, b in zip(edits, edits[1:])):
                # apart, as edits are: joined in one go (a macro expansion
                # can put a whole program on one line)
                pieces, at = [], 0
                for col, end, text in padded:
                    pieces.append(line[at:col])
                    pieces.append(text)
                    at = end
                pieces.append(line[at:])
                line = ''.join(pieces)
            else:
                for col, end, text in reversed(padded):
                    line = line[:col] + text + line[end:]
            lines[row] = line
        return '\n'.join(lines)

    # -- the rewrite --------------------------------------------------------

    def run(self):
        toks, i = self.toks, 0
        brace_kinds = []          # 'type' for struct/union/enum bodies
        paren_depth = 0
        decl_start = 0            # index of the first token of this declaration
        outer_starts = []         # decl_start of the declarations around each `{`
        while i < len(toks):
            tok = toks[i]
            project = self.origin(tok) == PROJECT
            t = tok.text
            if project:
                self._gnu_forms(i, brace_kinds, decl_start)
            if tok.kind == 'id':
                if project and ('\\' in t or re.search('[\x80-\xff]', t)):
                    # gcc -E writes a UTF-8 identifier with universal character
                    # names (café -> caf\U000000e9); the symbols and stubs of
                    # renamed definitions would have to spell it in assembly
                    self.fail(tok, "the identifier '%s' has characters outside ASCII, "
                              "which the dsu pass does not support yet" % _utf8_name(t))
                if t in _ATTR and self.next_is(i, '('):
                    j = self.matching(i + 1)
                    if project:
                        self._record_attribute(i, j, brace_kinds, decl_start,
                                               paren_depth > 0)
                    self.blank(i, j)
                    i = j + 1
                    continue
                if t in _ASM:
                    j = i + 1
                    while j < len(toks) and toks[j].text in (
                            'volatile', '__volatile__', 'goto', 'inline', '__inline__'):
                        j += 1
                    if j < len(toks) and toks[j].text == '(':
                        end = self.matching(j)
                        if project:
                            prev = toks[i - 1].text if i else ';'
                            statement = 'block' in brace_kinds and prev in (
                                ';', '{', '}', ':', ')', 'else')
                            if statement:
                                self._asm_statement(i, j, end)
                            elif not brace_kinds or brace_kinds[-1] != 'type':
                                self._record_attribute(i, end, brace_kinds, decl_start,
                                                       paren_depth > 0)
                                self.blank(i, end)
                            else:
                                self.fail(tok, 'file-scope asm: not supported by the dsu '
                                          'pass yet')
                        else:
                            self.blank(i, end)
                        i = end + 1
                        continue
                if t in _UNSUPPORTED and project:
                    self.fail(tok, '%s is not supported by the dsu pass yet'
                              % _UNSUPPORTED[t])
                if t == '_Noreturn' and project:
                    # the parser does not know the specifier; the attribute
                    # means the same, and codegen writes it back
                    self._record_attribute(i, i, brace_kinds, decl_start, paren_depth > 0,
                                           '__attribute__((noreturn))')
                    self.replace(tok, '')
                elif t in _RESPELL:
                    self.replace(tok, _RESPELL[t])
                elif t in EXTENDED_TYPES:
                    self._extended_type(i, project)
                elif t == '__builtin_va_arg' and self.next_is(i, '('):
                    self._va_arg(i)
            elif t == '(':
                if project and i + 1 < len(toks) and toks[i + 1].text == '{':
                    # a statement expression: `__dsu_se(({ ... }))` keeps it apart
                    # from a plain block in the AST; codegen spells it back
                    close = self.matching(i + 1)
                    if close + 1 < len(toks) and toks[close + 1].text == ')':
                        self.replace(tok, '__dsu_se((')
                        self.replace(toks[close + 1], '))')
                paren_depth += 1
            elif t == ')':
                paren_depth -= 1
            elif t == '{':
                if project and 'block' in brace_kinds and self._is_function_body(i) \
                        and self._opening(i - 1) > 0 \
                        and toks[self._opening(i - 1) - 1].text not in _CONTROL:
                    self.fail(toks[self._opening(i - 1) - 1], 'a nested function definition '
                              '(GNU C) is not supported by the dsu pass')
                if not project and not brace_kinds and self._is_function_body(i):
                    j = self.matching(i)
                    self.replace(tok, ';')
                    self.blank(i + 1, j)
                    i = j + 1
                    decl_start = i
                    continue
                prev_text = toks[i - 1].text if i else ''
                if self._opens_type_body(i):
                    kind = 'type'
                elif prev_text == '=' or (brace_kinds and brace_kinds[-1] == 'init'
                                          and prev_text in ('{', ',', '=')):
                    kind = 'init'
                else:
                    kind = 'block'
                brace_kinds.append(kind)
                outer_starts.append(decl_start)
                if kind != 'init':        # an initialiser is within its declaration
                    decl_start = i + 1
            elif t == '}':
                if brace_kinds:
                    kind = brace_kinds.pop()
                    outer = outer_starts.pop()
                    if kind == 'block':
                        decl_start = i + 1
                    else:                 # `struct {...} a, b;` goes on
                        decl_start = outer
            elif t == ';' and paren_depth == 0:
                decl_start = i + 1
            i += 1
        return self.result()

    def _gnu_forms(self, i, brace_kinds, decl_start):
        """Older GNU C forms in the program's own code: rewritten to
        standard C where that is exact, refused by name where it is not."""
        toks, tok = self.toks, self.toks[i]
        prev = toks[i - 1] if i else None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if tok.text == '...' and self._in_case(i):
            self.fail(tok, 'case ranges (case a ... b:) are not supported by the dsu pass')
        if tok.text == '&&' and nxt is not None and nxt.kind == 'id' and (
                prev is None or prev.text in ('{', ',', '=', '(', 'return', ':', '?')):
            self.fail(tok, 'labels as values (&&label, goto *) are not supported by '
                      'the dsu pass')
        if tok.text == '?' and nxt is not None and nxt.text == ':':
            self.fail(tok, 'the conditional with an omitted operand (a ?: b, GNU C) is '
                      'not supported by the dsu pass')
        if tok.kind == 'num' and re.match(r'^[\d.].*[iIjJ][fFlL]?$', tok.text) and \
                not tok.text.lower().startswith('0x'):
            self.fail(tok, 'imaginary constants (GNU C) are not supported by the dsu pass')
        if tok.text == '{' and nxt is not None and nxt.text == '}' and \
                self._empty_initializer(i, brace_kinds):
            self.replace(tok, '{__dsu_empty')               # `{}`: codegen restores it
        at_start = i == decl_start and not brace_kinds
        if at_start and tok.kind == 'id' and tok.text not in _KEYWORDS and nxt is not None \
                and nxt.text == '(' and self._implicit_int_function(i):
            self.replace(tok, 'int ' + tok.text)          # K&R: `foo (p) int p; {`
        if i == decl_start and tok.text in _STORAGE and nxt is not None and nxt.kind == 'id' and \
                nxt.text not in _KEYWORDS and i + 2 < len(toks) and \
                toks[i + 2].text in (';', '=', ',', '['):
            self.replace(tok, tok.text + ' int')            # `static max;`
        if brace_kinds and brace_kinds[-1] == 'init' and tok.kind == 'id' and \
                prev is not None and prev.text in ('{', ',') and nxt is not None and \
                nxt.text == ':':
            self.replace(tok, '.' + tok.text)               # `{ a: 1 }` -> `{ .a = 1 }`
            self.replace(nxt, '=')

    def _empty_initializer(self, i, brace_kinds):
        """Is the `{` at I, directly closed, an initializer (`= {}`, a
        compound literal `(T){}`, a member `{ {}, ... }`) and not a block?"""
        prev = self.toks[i - 1].text if i else ''
        if prev == '=' or (prev in ('{', ',') and brace_kinds and brace_kinds[-1] == 'init'):
            return True
        if prev != ')':
            return False
        before = self._opening(i - 1) - 1
        if before < 0:
            return False
        word = self.toks[before]
        return word.text not in _CONTROL and word.kind != 'id' and word.text != ')'

    def _in_case(self, i):
        """Is token I inside a `case ...:` label?"""
        for k in range(i - 1, max(i - 40, -1), -1):
            t = self.toks[k].text
            if t == 'case':
                return True
            if t in (';', '{', '}', ':'):
                return False
        return False

    def _implicit_int_function(self, i):
        close = self.matching(i + 1)
        after = self.toks[close + 1] if close + 1 < len(self.toks) else None
        inside = self.toks[i + 2] if i + 2 < len(self.toks) else None
        return after is not None and inside is not None and \
            (inside.kind == 'id' or inside.text == ')') and (
                after.text in ('{', ';') or after.kind == 'id')

    def _opens_type_body(self, i):
        k = i - 1
        if k >= 0 and self.toks[k].kind == 'id' and self.toks[k].text not in (
                'struct', 'union', 'enum'):
            k -= 1
        while k >= 0 and self.toks[k].text == ')':   # a blanked attribute
            k = self._opening(k) - 2
        return k >= 0 and self.toks[k].text in ('struct', 'union', 'enum')

    def _opening(self, j):
        depth = 0
        for k in range(j, -1, -1):
            t = self.toks[k].text
            if t == ')':
                depth += 1
            elif t == '(':
                depth -= 1
                if depth == 0:
                    return k
        return 0

    def _is_function_body(self, i):
        k = i - 1
        # skip blanked attribute/asm groups: they end in ')' too, but those
        # have been blanked already and still look like ')'; harmless here
        if k < 0 or self.toks[k].text != ')':
            return False
        before = self._opening(k) - 1
        return before >= 0 and (self.toks[before].kind == 'id'
                                or self.toks[before].text == ')')

    def _extended_type(self, i, project):
        tok = self.toks[i]
        prev = self.toks[i - 1] if i else None
        if tok.text == '__int128' and prev is not None and prev.text in (
                'unsigned', 'signed', '__signed__', '__signed'):
            self.replace(prev, '')
            name = '__dsu_uint128' if prev.text == 'unsigned' else '__dsu_int128'
        else:
            name = EXTENDED_TYPES[tok.text]
        if not project:
            name = {'__dsu_int128': 'long long', '__dsu_uint128': 'unsigned long long'
                    }.get(name, 'long double')
        self.replace(tok, name)

    def _va_arg(self, i):
        """`__builtin_va_arg(ap, T)` -> `__dsu_va_arg(ap, sizeof(T))`."""
        j = self.matching(i + 1)
        depth, comma = 0, None
        for k in range(i + 1, j):
            t = self.toks[k].text
            if t in '([{':
                depth += 1
            elif t in ')]}':
                depth -= 1
            elif t == ',' and depth == 1:
                comma = k
        if comma is None:
            self.fail(self.toks[i], 'malformed __builtin_va_arg')
        self.replace(self.toks[i], '__dsu_va_arg')
        self.replace(self.toks[comma], ', sizeof(')
        self.replace(self.toks[j], '))')

    def _asm_statement(self, i, j, end):
        """`asm [volatile] ("..." : "=r"(x) : "r"(y) : "memory")` becomes
        `__dsu_asm(K, x, y)`: the parser sees the operand expressions (so
        the passes rename what they name), codegen spells the statement
        back from template K."""
        toks = self.toks
        pieces, args, k, depth = [], [], j + 1, 0
        section = 0
        while k < end:
            t = toks[k].text
            if t == ':' and depth == 0:
                section += 1
            if section in (1, 2) and t == '(' and depth == 0:
                close = self.matching(k)
                args.append((k + 1, close - 1))
                pieces.append('({%d})' % (len(args) - 1))
                k = close + 1
                continue
            if section >= 4:
                self.fail(toks[i], 'asm goto: not supported by the dsu pass yet')
            if t in '([{':
                depth += 1
            elif t in ')]}':
                depth -= 1
            pieces.append(t.replace('{', '{{').replace('}', '}}'))
            k += 1
        quals = ' '.join(x.text for x in toks[i + 1:j]
                         if x.text not in ('__volatile__',)) or ''
        if any(x.text == '__volatile__' for x in toks[i + 1:j]):
            quals = ('volatile ' + quals).strip()
        template = '__asm__ %s(%s)' % (quals + ' ' if quals else '', ' '.join(pieces))
        self.asm.append(template)
        # rewrite in place: `__asm__ ... (` -> `__dsu_asm(K,` and keep only
        # the operand expressions, separated by commas
        self.replace(toks[i], '__dsu_asm(%d' % (len(self.asm) - 1))
        for x in toks[i + 1:j + 1]:
            self.replace(x, '')
        keep = set()
        for a, b in args:
            keep.update(range(a, b + 1))
        first_of = {a for a, _ in args}
        for k in range(j + 1, end):
            if k in keep:
                if k in first_of:
                    self.replace(toks[k], ', ' + toks[k].text)
                continue
            self.replace(toks[k], '')

    def _record_attribute(self, i, j, brace_kinds, decl_start, in_parens, text=None):
        if text is None:
            text = ' '.join(t.text for t in self.toks[i:j + 1])
            text = re.sub(r'\s*([()])\s*', r'\1', text).replace(' ,', ',')
        file, line = self.where(self.toks[i])
        prev = self.toks[i - 1] if i else None
        if prev is not None and prev.text in ('struct', 'union', 'enum'):
            # `struct __attribute__((packed)) S {`: anchored at the tag or `{`
            anchor_tok = self.toks[j + 1] if j + 1 < len(self.toks) else prev
            self.attributes.append(Attribute(
                text, file, line, 'type', self._pos(anchor_tok), in_parens))
            return
        if prev is not None and prev.text == '}' and self._closes_type(i - 1):
            opener = self._brace_opening(i - 1)
            k = opener - 1
            anchor_tok = self.toks[k] if self.toks[k].kind == 'id' and \
                self.toks[k].text not in ('struct', 'union', 'enum') else self.toks[opener]
            self.attributes.append(Attribute(
                text, file, line, 'type', self._pos(anchor_tok), in_parens))
            return
        end = self._declarator_end(j + 1, in_parens)
        start = i
        depth = 0
        while start > decl_start:          # back to the start of this declarator
            t = self.toks[start - 1].text
            if t in ')]}':
                depth += 1
            elif t in '([{':
                if depth == 0:
                    break
                depth -= 1
            elif t == ',' and depth == 0:
                break
            start -= 1
        last = min(end, len(self.toks) - 1)
        whole = end if in_parens else self._declaration_end(end)
        shared = not in_parens and start == decl_start and self._among_specifiers(start, i)
        self.attributes.append(Attribute(
            text, file, line, 'decl',
            (self._pos(self.toks[min(start, last)]), self._pos(self.toks[last])),
            in_parens, self._pos(self.toks[i]),
            (self._pos(self.toks[min(decl_start, last)]),
             self._pos(self.toks[min(whole, len(self.toks) - 1)])), shared))

    def _declarator_end(self, k, in_parens):
        """Index of the token that ends the declarator going on at K."""
        depth = 0
        while k < len(self.toks):
            t = self.toks[k].text
            if t in '([':
                depth += 1
            elif t in ')]':
                if depth == 0 and in_parens:
                    break
                depth -= 1
            elif t == '{' and depth == 0 and self._opens_type_body(k):
                k = self.matching(k)           # `struct {...} a`: on to `a`
            elif depth == 0 and t in (';', '{', '}', '=', ','):
                break
            k += 1
        return k

    def _declaration_end(self, k):
        """Index of the `;` (or function body `{`, or closing `}`) that
        ends the declaration going on at K; initialisers are skipped."""
        depth = 0
        while k < len(self.toks):
            t = self.toks[k].text
            if t == '{' and depth == 0 and self._opens_type_body(k):
                k = self.matching(k)
            elif t in '([' or (t == '{' and (depth > 0 or self.toks[k - 1].text == '=')):
                depth += 1
            elif t in ')]}' and depth > 0:
                depth -= 1
            elif depth == 0 and t in (';', '{', '}'):
                break
            k += 1
        return k

    def _among_specifiers(self, k, i):
        """Do the tokens K..I-1 hold no declarator punctuation, so that
        an attribute at I stands among the declaration specifiers?  (Names
        of declarators are told apart by the caller, from the AST.)"""
        while k < i:
            t = self.toks[k].text
            if t in _ATTR or t in _ASM or t in ('_Alignas', '_Atomic'):
                if self.next_is(k, '('):
                    k = self.matching(k + 1) + 1
                    continue
            elif t == '{':                     # a struct body among the specifiers
                k = self.matching(k) + 1
                continue
            elif t in ('*', '(', '['):
                return False
            k += 1
        return True

    def _brace_opening(self, j):
        depth = 0
        for k in range(j, -1, -1):
            t = self.toks[k].text
            if t == '}':
                depth += 1
            elif t == '{':
                depth -= 1
                if depth == 0:
                    return k
        return 0

    def _closes_type(self, j):
        return self._opens_type_body(self._brace_opening(j))

    def _pos(self, tok):
        file, line = self.where(tok)
        return (file, line, tok.col + 1)


def _utf8_name(text):
    """caf\\U000000e9 -> café (as the user wrote it)."""
    return re.sub(r'\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})',
                  lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def tidy(pre):
    """Return (parser text, attributes of the program's own code, asm
    statement templates)."""
    tidier = Tidier(pre)
    text = tidier.run()
    return text, tidier.attributes, tidier.asm
