"""Text that goes into generated C from outside the C being rewritten:
names, paths, summaries.  Every such string goes through one of these,
so that no name or path can end a literal, a comment or a directive
early and change the meaning of the generated file."""

from ..frontend.errors import DsuError


def c_string(s):
    """A C string literal holding S exactly (bytes as latin-1)."""
    out = []
    for ch in s:
        if ch in '\\"':
            out.append('\\' + ch)
        elif ch == '\n':
            out.append('\\n')
        elif ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append('\\%03o' % ord(ch))
        elif ch == '?':
            out.append('\\?')         # no trigraph in any -std mode
        else:
            out.append(ch)
    return '"%s"' % ''.join(out)


def c_header_name(path):
    """`"PATH"` for an #include: a header name has no escapes, so a path
    holding a double quote or a line break cannot be named at all."""
    if '"' in path or '\n' in path or '\r' in path:
        raise DsuError('cannot #include %r in generated C: the path holds a double '
                       'quote or a line break; move the project or the dsu package to '
                       'a path without them' % path)
    return '"%s"' % path


def c_comment(text):
    """TEXT made safe inside /* ... */: it neither ends the comment nor
    opens one within it (which -Wcomment reports)."""
    return text.replace('/*', '/ *').replace('*/', '* /')
