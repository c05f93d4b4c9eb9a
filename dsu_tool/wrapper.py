"""`dsu cc`: the compiler wrapper for Make, CMake or any build system.

    make CC="dsu cc --version-name v1"          (the compiler run: cc)
    make CC="dsu cc --version-name v1 -- gcc"   (the compiler run: gcc)

The build system calls it wherever it would call the compiler, and it
looks at each command line:

- the compile of C sources (`-c x.c`, with or without -o): each source
  goes through the updateability pass (dsu_tool.cc), as in `scons dsu=1`;
- the link of a program from objects that the pass compiled (known by
  their manifests under ROOT/.dsu/gen/): the version is recorded from
  those manifests, the program is linked with its version object and the
  runtime library, the version is marked linked and a summary printed;
  sources given on the link line itself (`cc -o prog prog.c`, Make's
  built-in rule) are compiled through the pass first;
- anything else (preprocessing, -M dependency runs, assembly, a shared
  library, a link of other objects only, `cc --version`) runs unchanged.

Every command that compiles or preprocesses C also gets -DDSU_UPDATEABLE
and the runtime's include directory, so that `#include <dsu.h>` resolves
and DSU_update() is the update point, as with the SCons tool.

The project root (where .dsu/ goes: the manifests, the version store, the
runtime library) is --root DIR, else the nearest directory from the
current one upwards that holds a .dsu/ directory, else the current
directory.  Program names in the version store are paths from the root.
"""

import fcntl
import hashlib
import os
import subprocess
import sys

from . import linkstep
from .codegen.unit import RUNTIME_INCLUDE, RUNTIME_LINK_FLAGS
from .archives import library_paths, members
from .cc import GEN, side_base
from .frontend.errors import DsuError
from .runtimelib import LIBRARY, build_runtime, runtime_inputs
from .versions.names import check_version_name

USAGE = """\
usage: dsu cc [--root DIR] [--version-name NAME] [--passes a,b] [--] [COMPILER] ARGS...

The compiler wrapper for Make and other build systems, e.g.
    make CC="dsu cc --version-name v1"
    make CC="dsu cc --version-name v1 -- gcc"
Compiles C through the updateability pass; links a program of such objects
with the dsu runtime and records its version under ROOT/.dsu/versions/NAME/;
runs any other command unchanged.  COMPILER (default: cc) is the first word
after the options unless it starts with '-' or names a file; `--` ends the
options.

  --root DIR           the project root (default: the nearest directory upwards
                       holding .dsu/, else the current directory)
  --version-name NAME  the name of the version that a link records (default:
                       git-<commit> on a clean git checkout, else h<content id>)
  --passes a,b         the passes to run (default: all)

`dsu cc --print-include-dir` prints the directory of <dsu.h>, for the
ordinary build: make CPPFLAGS="-I$(dsu cc --print-include-dir)".
"""

_OPTIONS = ('--root', '--version-name', '--passes')
# gcc options whose value is the next argument.
_WITH_VALUE = {'-o', '-I', '-D', '-U', '-include', '-imacros', '-isystem', '-idirafter',
               '-iprefix', '-iwithprefix', '-iwithprefixbefore', '-iquote', '-isysroot',
               '-MF', '-MT', '-MQ', '-x', '-L', '-l', '-Xlinker', '-Xassembler',
               '-Xpreprocessor', '-u', '-T', '-e', '-z', '-aux-info', '--param',
               '-dumpbase', '-dumpdir', '-specs', '-wrapper'}
_NOT_A_PROGRAM = {'-shared', '-r', '-relocatable', '-Wl,-r', '-Wl,--relocatable'}
# Options that make the driver print something and build nothing (-v
# alone is not one: with inputs it only shows the commands it runs).
_QUERIES = ('--version', '--help', '-###', '-dumpversion', '-dumpmachine',
            '-dumpfullversion', '-dumpspecs', '-print-', '--print-')
# What the version object takes from the link line: the options that
# choose the code the compiler makes (word size, PIC/PIE, sanitizers, LTO).
_CODEGEN = ('-m', '-f', '-O', '-g', '--sysroot', '-B', '-pthread')
_INPUT_SOURCE = ('.c',)
_LINK_ONLY = {'-static', '-static-pie', '-shared', '-rdynamic', '-pie', '-no-pie',
              '-nostdlib', '-nostartfiles', '-nodefaultlibs', '-s'}


class UsageError(Exception):
    pass


def parse_options(argv):
    """(options, compiler command) from `dsu cc` ARGV."""
    opts = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        name, eq, value = a.partition('=')
        if name not in _OPTIONS:
            break
        if not eq:
            if i + 1 >= len(argv):
                raise UsageError('%s needs a value' % a)
            value = argv[i + 1]
            i += 1
        opts[name[2:].replace('-', '_')] = value
        i += 1
    rest = argv[i:]
    if rest[:1] == ['--']:
        rest = rest[1:]
    if not rest or rest[0].startswith('-') or os.path.splitext(rest[0])[1] in (
            '.c', '.o', '.a', '.so', '.s', '.S', '.i') or os.path.isfile(rest[0]) \
            and not os.access(rest[0], os.X_OK):
        rest = ['cc'] + rest
    return opts, rest


def find_root(start):
    """The nearest directory from START upwards holding .dsu/, else START."""
    d = os.path.abspath(start)
    while True:
        if os.path.isdir(os.path.join(d, '.dsu')):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return os.path.abspath(start)
        d = parent


class Line:
    """A compiler command line, taken apart: ARGV[0] is the compiler."""

    def __init__(self, argv):
        self.argv = list(argv)
        self.output = None
        self.inputs = []                # (index, path) of every input file
        self.flags = set()
        self.language = False           # -x given: inputs are not known by suffix
        args = iter(enumerate(self.argv[1:], 1))
        for i, a in args:
            if a in _WITH_VALUE:
                j, value = next(args, (None, None))
                if a == '-o':
                    self.output = value
                elif a == '-x':
                    self.language = True
            elif a.startswith('-o') and len(a) > 2:
                self.output = a[2:]
            elif a.startswith('-') and a != '-':
                self.flags.add(a)
            else:
                self.inputs.append((i, a))

    def has(self, *flags):
        return any(f in self.flags for f in flags)

    def sources(self):
        return [(i, a) for i, a in self.inputs if a.endswith(_INPUT_SOURCE)]

    def kind(self):
        """'compile', 'link', 'preprocess' (also -S, -M) or 'other'."""
        if self.language or '-' in [a for _, a in self.inputs] or \
                any(f.startswith(_QUERIES) for f in self.flags):
            return 'other'
        if self.has('-E', '-M', '-MM', '-S'):
            return 'preprocess'
        if self.has('-c'):
            only_c = self.inputs and len(self.sources()) == len(self.inputs)
            return 'compile' if only_c and (self.output is None or len(self.inputs) == 1) \
                else 'preprocess'
        if not self.inputs:
            return 'other'
        if self.has(*_NOT_A_PROGRAM) or any(f.startswith('-Wl,') and
                                            ('-r' in f.split(',') or '--relocatable'
                                             in f.split(',')) for f in self.flags):
            return 'other'
        return 'link'


def _updateable_flags(argv):
    """ARGV with what every updateable compile has: DSU_UPDATEABLE defined
    and <dsu.h> found.  The runtime's directory comes first: a copy of
    dsu.h that the project keeps for its ordinary build is not the one an
    updateable build uses."""
    return [argv[0], '-DDSU_UPDATEABLE', '-I', RUNTIME_INCLUDE] + argv[1:]


def _stamp(obj):
    with open(obj, 'rb') as f:
        return hashlib.sha1(f.read()).hexdigest()


def compile_one(root, line, index, obj, passes):
    """Compile the C source at LINE.argv[INDEX] into OBJ through the pass;
    return the exit status.  The other inputs and the link-only options
    of LINE stay out of it (`cc -o prog a.c b.c -lm` compiles a.c alone)."""
    from . import cc
    argv = line.argv
    others = {i for i, _ in line.inputs if i != index}
    args, skip = [argv[0]], False
    for i, a in enumerate(argv[1:], 1):
        if skip or i in others:
            skip = False
            continue
        if a in ('-o', '-l', '-L', '-Xlinker', '-T', '-u', '-z'):
            skip = True
        elif not (a.startswith(('-o', '-l', '-L', '-Wl,')) or a in _LINK_ONLY):
            args.append(a)
    if '-c' not in args:
        args.append('-c')
    command = ['--root', root] + (['--passes', passes] if passes else []) + ['--'] + \
        _updateable_flags(args) + ['-o', obj]
    status = cc.main(command)
    if status:
        return status
    # Lets the link tell it from an object compiled later without the pass.
    with open(side_base(root, obj) + '.dsu.obj', 'w') as f:
        f.write(_stamp(obj))
    if line.has('-MD', '-MMD'):
        return _dependencies(line, args, argv[index], obj)
    return 0


def _dependencies(line, args, source, obj):
    """The compile ran on the generated C, in which the project's own
    headers are already expanded: the dependency file gcc wrote with it
    (-MD, -MMD) names the generated file instead of the source and its
    headers, and Make would not rebuild after a header edit.  It is
    written again here from the source, with the same options."""
    deps, targets, keep, skip = None, [], _updateable_flags(args[:1]), None
    for a in args[1:]:
        if skip:
            if skip == '-MF':
                deps = a
            else:
                targets += [skip, a]
            skip = None
        elif a in ('-MF', '-MT', '-MQ'):
            skip = a
        elif a in ('-MD', '-MMD', '-c') or a == source:
            pass
        else:
            keep.append(a)
    if deps is None:
        deps = os.path.splitext(obj)[0] + '.d'
    command = keep + ['-MM' if line.has('-MMD') else '-M', '-MF', deps] + \
        (targets or ['-MT', obj]) + [source]
    return subprocess.call(command)


def _object_of(source):
    return os.path.splitext(os.path.basename(source))[0] + '.o'


def _compile(root, line, passes):
    sources = line.sources()
    for index, source in sources:
        obj = line.output if line.output is not None else _object_of(source)
        status = compile_one(root, line, index, obj, passes)
        if status:
            return status
    return 0


def updateable_objects(root, objects):
    """The objects among OBJECTS that the pass compiled: their manifests.
    An object compiled again without the pass (the manifest stayed behind)
    would give the program two layouts of its structs: an error."""
    manifests = []
    for obj in objects:
        base = side_base(root, obj)
        if not os.path.exists(base + '.dsu.json') or not os.path.exists(obj):
            continue
        try:
            with open(base + '.dsu.obj') as f:
                stamp = f.read()
        except OSError:
            stamp = None           # compiled by dsu_tool.cc directly: trusted
        if stamp is not None and stamp != _stamp(obj):
            raise DsuError('%s was compiled again without dsu cc since its updateable '
                           'compile; the objects of an updateable program all come '
                           'through the pass: remove the objects (make clean) and build '
                           'again with CC="dsu cc ..."' % obj)
        manifests.append(base + '.dsu.json')
    return manifests


def library_units(root, libraries, known, found_in=None):
    """The manifests of the members of LIBRARIES (static libraries on the
    link line) that the pass compiled: found by content among the objects
    it compiled (their stamps), as an archive keeps no object paths.
    FOUND_IN (a dict), if given, gets the library of each."""
    if not libraries:
        return []
    by_stamp = {}
    for dirpath, _, filenames in os.walk(os.path.join(root, GEN)):
        for name in filenames:
            if name.endswith('.dsu.obj'):
                base = os.path.join(dirpath, name[:-len('.dsu.obj')])
                try:
                    with open(base + '.dsu.obj') as f:
                        by_stamp[f.read()] = base + '.dsu.json'
                except OSError:
                    pass
    found = []
    for library in libraries:
        for member in members(library):
            manifest = by_stamp.get(hashlib.sha1(member).hexdigest())
            if manifest and manifest not in known and manifest not in found \
                    and os.path.exists(manifest):
                found.append(manifest)
                if found_in is not None:
                    found_in[manifest] = library
    return found


def _program_name(root, output):
    rel = os.path.relpath(os.path.abspath(output), root)
    if rel.startswith('..'):
        raise DsuError('the program %s is outside the project root %s: give the root '
                       'with dsu cc --root DIR' % (output, root))
    return rel


def _program_object(root, program, source):
    """Where a source compiled on PROGRAM's link line leaves its object."""
    rel = os.path.relpath(os.path.abspath(source), root)
    if rel.startswith('..'):
        rel = os.path.join('_abs', os.path.abspath(source).lstrip(os.sep))
    return os.path.join(root, linkstep.BUILD, program + '.objs', rel[:-2] + '.o')


def _link(root, line, opts):
    argv = list(line.argv)
    output = line.output or 'a.out'
    program = _program_name(root, output)
    sources = line.sources()
    for index, source in sources:
        # `cc -o prog a.c b.c`: each source compiled through the pass first
        obj = _program_object(root, program, source)
        os.makedirs(os.path.dirname(obj), exist_ok=True)
        status = compile_one(root, line, index, obj, opts.get('passes'))
        if status:
            return status
        argv[index] = obj
    # Links of one project take turns: recording a version may compile
    # objects again (versions.agree) that another program links too.
    os.makedirs(os.path.join(root, linkstep.BUILD), exist_ok=True)
    with open(os.path.join(root, linkstep.BUILD, 'link.lock'), 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _link_objects(root, argv, line, program, opts)


def _link_objects(root, argv, line, program, opts):
    objects = [argv[i] for i, _ in line.inputs]
    manifests = updateable_objects(root, objects)
    archived = {}
    manifests += library_units(root, library_paths(argv[1:]), manifests, archived)
    if not manifests:
        return subprocess.call(argv)         # no unit of its own is updateable
    cc = argv[0]
    unpatchable = linkstep.unpatchable_link(argv[1:], 'on the link line')
    messages, recompiled = linkstep.record(root, program, opts.get('version_name'),
                                           manifests, unpatchable,
                                           name_option='--version-name')
    for message in messages:
        print(message)
    for manifest, obj in recompiled:
        # compiled again so that every unit keeps the same structs unwrapped
        # (versions.agree): its stamp follows, and so does its archive copy
        with open(side_base(root, obj) + '.dsu.obj', 'w') as f:
            f.write(_stamp(obj))
        if manifest in archived:
            r = subprocess.run([os.environ.get('AR', 'ar'), 'r', archived[manifest], obj],
                               capture_output=True, text=True)
            if r.returncode:
                raise DsuError('cannot put %s, compiled again, back into %s: %s'
                               % (obj, archived[manifest], r.stderr.strip()))
    base = linkstep.version_base(root, program)
    # never an LTO object: its slots are top-level asm, which LTO would put
    # beside the units' own definitions of the same slots (versions.record)
    codegen = [a for a in argv[1:] if a.startswith(_CODEGEN)] + ['-fno-lto']
    status = subprocess.call([cc] + codegen + ['-I', RUNTIME_INCLUDE, '-c', '-o',
                                               base + '.o', base + '.c'])
    if status:
        return status
    library = os.path.join(root, LIBRARY)
    status = build_runtime(cc, os.environ.get('AR') or 'ar', library, runtime_inputs())
    if status:
        return status
    status = subprocess.call(argv + [base + '.o', library] + RUNTIME_LINK_FLAGS)
    if status == 0:
        for message in linkstep.linked(root, program):
            print(message)
    return status


def main(argv):
    if argv[:1] in (['--help'], ['-h']):
        sys.stdout.write(USAGE)
        return 0
    if argv[:1] == ['--print-include-dir']:
        print(RUNTIME_INCLUDE)
        return 0
    try:
        opts, command = parse_options(argv)
        if opts.get('version_name') is not None:
            check_version_name(opts['version_name'], '--version-name')
    except UsageError as e:
        print('dsu: cc: %s\n%s' % (e, USAGE), file=sys.stderr, end='')
        return 2
    except DsuError as e:
        print('dsu: %s' % e.message, file=sys.stderr)
        return 2
    root = os.path.abspath(opts['root']) if opts.get('root') else find_root('.')
    line = Line(command)
    kind = line.kind()
    try:
        if kind == 'compile':
            return _compile(root, line, opts.get('passes'))
        if kind == 'link':
            return _link(root, line, opts)
    except DsuError as e:
        print('dsu: %s' % e, file=sys.stderr)
        return 1
    except OSError as e:
        print('dsu: %s' % e, file=sys.stderr)
        return 1
    if kind == 'preprocess':
        command = _updateable_flags(command)
    return _run(command)


def _run(argv):
    try:
        return subprocess.call(argv)
    except OSError as e:
        print('dsu: cannot run %s: %s' % (argv[0], e.strerror), file=sys.stderr)
        return 127
