"""Run the preprocessor with the compile's own flags and split its output.

The updateability pass regenerates only the program's own declarations.
Everything that came from headers outside the project (the C library,
third-party headers) is included again in the generated file, exactly as
the program included it, so its ABI stays what the system compiler makes
of it.  To do that we run `cc -E -dD` (the same flags as the compile, so
the same `#ifdef` branches are taken) and read its line markers:

* a line that came from a project file is code to parse and regenerate;
* an include from a project file into an outside header is replayed as
  an `#include` directive, spelled as the program spelled it;
* a `#define`/`#undef` in a project file is replayed in its place, so the
  outside headers see the macros (feature-test macros first of all) they
  saw in the original translation unit.
"""

import os
import re
import subprocess
from dataclasses import dataclass, field

from ..codegen.literals import c_header_name
from .errors import DsuError

_MARKER = re.compile(r'#\s*(\d+)\s+"((?:[^"\\]|\\.)*)"((?:\s+\d+)*)\s*$')
_INCLUDE = re.compile(r'\s*#\s*include\s*(<[^>]+>|"[^"]+")')
_MACRO_NAME = re.compile(r'#\s*(?:define|undef)\s+([A-Za-z_]\w*)')

PROJECT, EXTERNAL, BUILTIN = 'project', 'external', 'builtin'


@dataclass
class Preprocessed:
    source: str                # the translation unit's main file
    text: str                  # parser input: directives blanked, lines kept
    origins: list              # per line of `text`: PROJECT/EXTERNAL/BUILTIN
    locs: list                 # per line of `text`: (file, line) or None
    prelude: list = field(default_factory=list)   # replayed directives
    macros: set = field(default_factory=set)      # defined at the end


def unescape_path(s):
    return re.sub(r'\\(.)', r'\1', s)


def run_cpp(cc, args, source, cwd=None):
    """Preprocess SOURCE with compiler CC and the compile's ARGS.

    ARGS are the compile's options without -c, -o and the source; they
    must carry the same -D/-I/-std flags the real compile uses.
    """
    cmd = [cc, '-E', '-dD'] + list(args) + [source]
    # latin-1: every byte of the C text survives the round trip (a string
    # literal may hold any byte; the output must hold the same ones)
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                          encoding='latin-1')
    if proc.returncode != 0:
        raise DsuError('preprocessing failed:\n' + proc.stderr.strip(),
                       source)
    return proc.stdout


def _is_under(path, root):
    path = os.path.abspath(path)
    return path == root or path.startswith(root + os.sep)


class _Splitter:
    def __init__(self, root, cwd):
        self.root = os.path.abspath(root)
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self._file_lines = {}

    def origin_of(self, name, flags, parent_origin):
        if name.startswith('<'):
            return BUILTIN
        if parent_origin == EXTERNAL or '3' in flags:
            return EXTERNAL
        full = os.path.join(self.cwd, name)
        return PROJECT if _is_under(full, self.root) else EXTERNAL

    def source_line(self, name, lineno):
        if name not in self._file_lines:
            try:
                with open(os.path.join(self.cwd, name), errors='replace') as f:
                    self._file_lines[name] = f.read().split('\n')
            except OSError:
                self._file_lines[name] = []
        lines = self._file_lines[name]
        return lines[lineno - 1] if 0 < lineno <= len(lines) else ''

    def include_directive(self, includer, lineno, target):
        """The directive that includes TARGET, as the program spelled it.

        `<...>` is reused verbatim (same flags, same search path); a quoted
        or computed include is replaced by the absolute path, because the
        generated file does not live beside the includer."""
        m = _INCLUDE.match(self.source_line(includer, lineno))
        if m and m.group(1).startswith('<'):
            return '#include %s' % m.group(1)
        return '#include ' + c_header_name(os.path.join(self.cwd, target))


def split(cpp_text, source, root, cwd=None, prelude=None):
    """Split `cc -E -dD` output.  PRELUDE, when given, replaces the
    directives to replay (a recorded version keeps the ones spelled from
    the sources of its time)."""
    sp = _Splitter(root, cwd)
    recorded = prelude
    out, origins, locs, prelude, macros = [], [], [], [], set()
    # Each stack entry: [file name, next line number, origin]
    stack = []
    for raw in cpp_text.split('\n'):
        if raw.startswith('#'):
            m = _MARKER.match(raw)
            if m:
                lineno, name = int(m.group(1)), unescape_path(m.group(2))
                flags = m.group(3).split()
                if '1' in flags:                       # entering a header
                    parent = stack[-1] if stack else None
                    origin = sp.origin_of(name, flags,
                                          parent[2] if parent else PROJECT)
                    if parent and parent[2] == PROJECT and origin == EXTERNAL:
                        prelude.append(sp.include_directive(
                            parent[0], parent[1], name))
                    stack.append([name, lineno, origin])
                elif '2' in flags:                     # back in the includer
                    while stack and stack[-1][0] != name:
                        stack.pop()
                    if stack:
                        stack[-1][1] = lineno
                    else:
                        stack.append([name, lineno, sp.origin_of(name, flags, PROJECT)])
                else:                                  # same file, new line
                    if stack and stack[-1][0] == name:
                        stack[-1][1] = lineno
                    else:
                        origin = sp.origin_of(name, flags, PROJECT)
                        if stack and stack[-1][2] == EXTERNAL and origin != BUILTIN:
                            origin = EXTERNAL
                        stack = stack[:-1] if stack else []
                        stack.append([name, lineno, origin])
                out.append(raw)
                origins.append(stack[-1][2] if stack else BUILTIN)
                locs.append(None)
                continue
            mm = _MACRO_NAME.match(raw)
            if mm:
                if raw.lstrip('# \t').startswith('define'):
                    macros.add(mm.group(1))
                else:
                    macros.discard(mm.group(1))
                if stack and stack[-1][2] == PROJECT:
                    prelude.append(raw)
                out.append('')
                origins.append(BUILTIN)
                locs.append(None)
                if stack:
                    stack[-1][1] += 1
                continue
        out.append(raw)
        origins.append(stack[-1][2] if stack else BUILTIN)
        locs.append((stack[-1][0], stack[-1][1]) if stack else None)
        if stack:
            stack[-1][1] += 1
    return Preprocessed(source=source, text='\n'.join(out), origins=origins,
                        locs=locs, prelude=prelude if recorded is None else recorded,
                        macros=macros)


def preprocess(cc, args, source, root, cwd=None):
    return split(run_cpp(cc, args, source, cwd), source, root, cwd)
