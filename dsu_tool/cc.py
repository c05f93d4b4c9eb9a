"""Compiler wrapper: `python -m dsu_tool.cc [options] -- CC ARGS...`.

Runs the updateability pass on the C source of an ordinary compile
command, then runs the command on the generated file instead.  Because it
wraps the whole command line, the pass sees exactly the flags the compile
uses (the SCons tool puts it in front of $CCCOM; any build system can put
it in front of $CC).

Beside the object OBJ it leaves:
  OBJ.dsu.c     the generated, updateable C
  OBJ.dsu.i     the preprocessed unit (`cc -E -dD`), kept in the version
                store so a patch can later be generated from it
  OBJ.dsu.json  the unit's manifest: its definitions, flags and paths
"""

import argparse
import json
import os
import subprocess
import sys

from .frontend.errors import DsuError
from .frontend.parse import parse_text
from .frontend.preprocess import run_cpp, split
from .passes import DEFAULT
from .passes.driver import transform_unit

# Options that take a value as the next argument and must not reach -E.
_DEP_WITH_ARG = {'-MF', '-MT', '-MQ'}
_DEP_FLAGS = {'-MD', '-MMD', '-MP', '-M', '-MM'}


class Command:
    """An ordinary `cc ... -c -o OBJ SRC.c` command, taken apart."""

    def __init__(self, argv):
        if not argv:
            raise DsuError('no compiler command given after --')
        self.argv = list(argv)
        self.cc = argv[0]
        self.output = None
        self.sources = []
        self.compile_only = '-c' in argv
        self.cpp_args = []          # flags for `cc -E`, without deps output
        args = iter(enumerate(argv[1:], 1))
        for i, a in args:
            if a == '-o':
                j, self.output = next(args)
            elif a.startswith('-o') and len(a) > 2:
                self.output = a[2:]
            elif a in _DEP_WITH_ARG:
                next(args)
            elif a in _DEP_FLAGS or a == '-c':
                pass
            elif not a.startswith('-') and a.endswith('.c'):
                self.sources.append((i, a))
            else:
                self.cpp_args.append(a)

    def applies(self):
        return self.compile_only and self.output and len(self.sources) == 1

    def with_source(self, path):
        argv = list(self.argv)
        argv[self.sources[0][0]] = path
        return argv


def write_if_changed(path, text):
    """Keep builds incremental: an unchanged file keeps its timestamp."""
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, 'w') as f:
        f.write(text)


def run_pass(cmd, root, passes=None):
    """Transform the command's source; return the generated file's path."""
    source = cmd.sources[0][1]
    obj = cmd.output
    tu_path = os.path.relpath(os.path.abspath(source), root)
    cpp_text = run_cpp(cmd.cc, cmd.cpp_args, source)
    pre = split(cpp_text, source, root)
    unit = parse_text(pre)
    generated = obj + '.dsu.c'
    text, model = transform_unit(unit, tu_path, generated, passes)
    write_if_changed(generated, text)
    write_if_changed(obj + '.dsu.i', cpp_text)
    manifest = {
        'tu': tu_path, 'source': source, 'cwd': os.getcwd(), 'cc': cmd.cc,
        'root': root, 'prelude': pre.prelude,
        'cpp_args': cmd.cpp_args,
        'compile_args': [a for i, a in enumerate(cmd.argv[1:], 1)
                         if i != cmd.sources[0][0]],
        'passes': list(passes or DEFAULT),
        'functions': [e.to_json() for e in model.functions()],
        'variables': [e.to_json() for e in model.variables() + model.locals],
    }
    write_if_changed(obj + '.dsu.json', json.dumps(manifest, indent=1) + '\n')
    return generated


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if '--' not in argv:
        print('usage: python -m dsu_tool.cc [--root DIR] [--passes a,b] -- CC ARGS...',
              file=sys.stderr)
        return 2
    split_at = argv.index('--')
    ap = argparse.ArgumentParser(prog='dsu-cc')
    ap.add_argument('--root', default='.', help='project root (for names)')
    ap.add_argument('--passes', help='comma-separated passes to run')
    ap.add_argument('--tool-id', help='ignored: makes build tools rebuild '
                    'when the pass changes')
    opts = ap.parse_args(argv[:split_at])
    cmd = Command(argv[split_at + 1:])
    if not cmd.applies():
        return subprocess.call(cmd.argv)
    passes = opts.passes.split(',') if opts.passes else None
    try:
        generated = run_pass(cmd, os.path.abspath(opts.root), passes)
    except DsuError as e:
        print(str(e), file=sys.stderr)
        return 1
    return subprocess.call(cmd.with_source(generated))


if __name__ == '__main__':
    sys.exit(main())
