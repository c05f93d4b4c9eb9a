"""Compiler wrapper: `python -m dsu_tool.cc [options] -- CC ARGS...`.

Runs the updateability pass on the C source of an ordinary compile
command, then runs the command on the generated file instead.  Because it
wraps the whole command line, the pass sees exactly the flags the compile
uses (the SCons tool puts it in front of $CCCOM; any build system can put
it in front of $CC).

For the object OBJ it leaves, under .dsu/gen/ of the project (out of the
way of `Glob('*.c')`), at the object's path:
  OBJ.dsu.c     the generated, updateable C
  OBJ.dsu.i     the preprocessed unit (`cc -E -dD`), kept in the version
                store so a patch can later be generated from it
  OBJ.dsu.json  the unit's manifest: its definitions, flags and paths,
                and a digest of OBJ.dsu.i (a build tool that tracks the
                manifest alone then sees every change of the unit)
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys

from .cachelimit import CACHE, touch
from .elf import ElfError, elf_section, undefined_symbols, unsigned_longs
from .files import write_atomic, write_if_changed
from .frontend.errors import DsuError
from .model.structs import load_fixed, load_layouts, record_fixed, record_layouts
from .frontend import parsecache
from .frontend.parse import parse_text
from .frontend.preprocess import run_cpp, split
from .passes import DEFAULT
from .passes.driver import transform_pre
from .passes.indirect import SLOT
from .pickling import gc_paused

# Options that take a value as the next argument and must not reach -E.
_DEP_WITH_ARG = {'-MF', '-MT', '-MQ'}
_DEP_FLAGS = {'-MD', '-MMD', '-MP', '-M', '-MM'}


def _last_of(argv, matches, default):
    found = [a for a in argv[1:] if matches(a)]
    return found[-1] if found else default


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
        # The sizes of wrapped structs are read back from a section of the
        # object (record_sizes).  With -flto alone gcc writes only its
        # intermediate code there, no sections: ask for fat objects, which
        # hold both (the link still optimises across units).
        if _last_of(self.argv, lambda a: a.startswith('-flto') or a == '-fno-lto', '-fno-lto') \
                != '-fno-lto' and _last_of(self.argv, lambda a: a.endswith('fat-lto-objects'),
                                           '') != '-ffat-lto-objects':
            self.argv.append('-ffat-lto-objects')

    def applies(self):
        return self.compile_only and self.output and len(self.sources) == 1

    def with_source(self, path):
        argv = list(self.argv)
        argv[self.sources[0][0]] = path
        return argv


GEN = os.path.join('.dsu', 'gen')


def side_base(root, obj):
    """Where the side files of object OBJ go."""
    obj = os.path.abspath(obj)
    rel = os.path.relpath(obj, root)
    if rel.startswith('..'):
        rel = os.path.join('_abs', obj.lstrip(os.sep))
    return os.path.join(root, GEN, rel)


def _cache_key(cpp_text, cmd, tu_path, passes, layouts, fixed):
    """What the pass's output depends on: the preprocessed unit, its
    flags and place, the passes, the kept struct sizes, the structs kept
    unwrapped and the pass itself."""
    h = hashlib.sha1()
    for part in (cpp_text, json.dumps([cmd.cpp_args, tu_path, os.getcwd(), passes,
                                       layouts, fixed], sort_keys=True), tool_digest()):
        h.update(part.encode('latin-1', 'replace'))
        h.update(b'\0')
    return h.hexdigest()


_digest = []


def tool_digest():
    """A digest of the pass's own sources (Python, the runtime's C and
    headers): part of build signatures and of cache keys."""
    if not _digest:
        h = hashlib.sha1()
        package = os.path.dirname(os.path.abspath(__file__))
        for dirpath, dirnames, filenames in sorted(os.walk(package)):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(('.py', '.c', '.h')):
                    with open(os.path.join(dirpath, name), 'rb') as f:
                        h.update(name.encode() + f.read())
        _digest.append(h.hexdigest())
    return _digest[0]


def run_pass(cmd, root, passes=None, cache=True, background=False):
    """Transform the command's source; return the generated file's path.
    A unit whose preprocessed text is unchanged is not parsed again: its
    generated C and manifest come from .dsu/cache (unless CACHE is false).
    The parse is kept there too, for `scons patch`; BACKGROUND: by a
    child process (the caller waits for it: parsecache.finish_background)."""
    source = cmd.sources[0][1]
    base = side_base(root, cmd.output)
    os.makedirs(os.path.dirname(base), exist_ok=True)
    tu_path = os.path.relpath(os.path.abspath(source), root)
    cpp_text = run_cpp(cmd.cc, cmd.cpp_args, source)
    layouts = load_layouts(root)
    fixed = load_fixed(root)
    key = _cache_key(cpp_text, cmd, tu_path, passes, layouts, fixed)
    cached = os.path.join(root, CACHE, key)
    generated = base + '.dsu.c'
    hit = _read_cache(cached) if cache else None
    if hit is not None:
        text, manifest = hit
        # the generated text names its own path in a #line: this object's
        write_if_changed(generated, text.replace(manifest.pop('_generated'), generated))
        write_if_changed(base + '.dsu.i', cpp_text)
        return generated, manifest
    pre = split(cpp_text, source, root)
    cwd = os.getcwd()
    # the parse is kept for `scons patch` (frontend.parsecache).  The cycle
    # collector held off: it walked the whole tree again and again while
    # the passes made new nodes (redis.c: a fifth of parse and passes)
    with gc_paused():
        unit, text, model = transform_pre(
            pre, tu_path, generated, passes, layouts, fixed,
            parse=(lambda pre, degrade: parsecache.parse(pre, degrade, root, cwd, root,
                                                         background=background))
            if cache else parse_text)
    write_if_changed(generated, text)
    write_if_changed(base + '.dsu.i', cpp_text)
    structs = [{'key': d.key, 'name': d.name, 'hash': d.hash, 'tag': d.tag_value(),
                'layout': d.layout, 'wrapped': d.wrapped, 'reason': d.reason,
                'file': d.node.coord.file, 'line': d.node.coord.line}
               for d in model.structs]
    manifest = {
        'tu': tu_path, 'source': source, 'cwd': os.getcwd(), 'cc': cmd.cc,
        'root': root, 'prelude': pre.prelude,
        'preprocessed': hashlib.sha1(cpp_text.encode('latin-1', 'replace')).hexdigest(),
        'cpp_args': cmd.cpp_args,
        'compile_args': [a for i, a in enumerate(cmd.argv[1:], 1)
                         if i != cmd.sources[0][0]],
        'passes': list(passes or DEFAULT),
        'functions': [e.to_json() for e in model.patchable_functions()],
        # compiled as written (frontend.aswritten): never replaced by a patch
        'as_written': sorted((r.to_json() for r in list(unit.as_written.values())
                              + unit.raw_declarations),
                             key=lambda r: (r['file'], r['line'] or 0, r['name'])),
        'require_fixed': model.require_fixed,
        'variables': [e.to_json() for e in model.variables() + model.locals],
        'structs': structs,
        'facts': model.facts,
    }
    os.makedirs(os.path.dirname(cached), exist_ok=True)
    # The manifest is written last: it is what makes the entry a hit.
    write_if_changed(cached + '.c', text)
    write_atomic(cached + '.json', json.dumps(dict(manifest, _generated=generated)))
    return generated, manifest


def _read_cache(cached):
    """The cached (text, manifest) of a unit, or None.  An entry that
    cannot be read whole (a build killed while writing it, by an older
    version that wrote in place; a disk error) is a miss: the unit is
    transformed again and the entry rewritten, never a failed build."""
    try:
        with open(cached + '.json') as f:
            manifest = json.load(f)
        with open(cached + '.c', encoding='latin-1') as f:
            text = f.read()
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get('_generated'), str) \
            or manifest['_generated'] not in text:
        return None
    touch(cached + '.json')     # used now: pruned last (cachelimit)
    touch(cached + '.c')
    return text, manifest


def record_sizes(obj, manifest, root):
    """After the compile: the measured size and tag offset of each wrapped
    type go into the unit's manifest and the project's layouts.json, and
    the structs kept unwrapped into fixed.json (other units of the program
    must keep them too: versions.agree)."""
    base = side_base(root, obj)
    record_fixed(root, manifest['structs'])
    try:
        raw = elf_section(obj, 'dsu_sizes') if any(
            s['wrapped'] for s in manifest['structs']) else None
    except ElfError as e:
        raise DsuError('cannot read the sizes of the wrapped structs: %s' % e) from None
    values = unsigned_longs(raw) if raw else []
    measured = {values[i]: (values[i + 1], values[i + 2])
                for i in range(0, len(values) - 2, 3)}
    kept = {}
    for s in manifest['structs']:
        if s['wrapped']:
            if s['tag'] not in measured:
                raise DsuError(
                    'the size of struct %s cannot be read back from %s (no section '
                    'dsu_sizes in it): the compiler wrote no ordinary object; an '
                    'updateable build needs one (with -flto, add -ffat-lto-objects)'
                    % (s['name'], obj), s['file'], s['line'])
            s['size'], s['tag_offset'] = measured[s['tag']]
            kept[s['key']] = {'size': s['size'], 'tag_offset': s['tag_offset']}
    if kept:
        record_layouts(root, kept)
    try:
        # the slots of other units' functions that the code still calls
        # after gcc optimised it: the version object gives those that no
        # unit defines a fallback (versions.record)
        manifest['slot_refs'] = undefined_symbols(obj, SLOT % '')
    except ElfError as e:
        raise DsuError('cannot read the symbols of %s: %s' % (obj, e)) from None
    write_if_changed(base + '.dsu.json', json.dumps(manifest, indent=1) + '\n')


def _refused(cmd, error):
    """The pass refused the unit: if the ordinary compile rejects it too
    (a syntax error, a missing header), the developer sees the compiler's
    own diagnostics and status, which are more precise than a parser's
    ("expected ';'" at the line that lacks it); only code that the compiler
    accepts gets the pass's message."""
    status = subprocess.call(cmd.argv)
    if status != 0:
        return status
    if cmd.output and os.path.exists(cmd.output):
        os.remove(cmd.output)        # no ordinary object where an updateable one belongs
    print(str(error), file=sys.stderr)
    return 1


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
    root = os.path.abspath(opts.root)
    try:
        generated, manifest = run_pass(cmd, root, passes, background=True)
    except DsuError as e:
        parsecache.finish_background()
        return _refused(cmd, e)
    status = subprocess.call(cmd.with_source(generated))
    parsecache.finish_background()
    if status == 0:
        try:
            record_sizes(cmd.output, manifest, root)
        except DsuError as e:
            print(str(e), file=sys.stderr)
            return 1
    return status


if __name__ == '__main__':
    sys.exit(main())
