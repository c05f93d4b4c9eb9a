"""The `dsu` SCons tool: generate(env) and exists(env).

Plain `scons`: the tool only makes `#include <dsu.h>` resolve, where
`DSU_update()` compiles to nothing.

`scons dsu=1 [version=NAME]`: every C compile runs through the
updateability pass (the wrapper dsu_tool.cc is put in front of $CCCOM and
$SHCCCOM, so it sees exactly the compile's flags); every Program is linked
with the runtime and a generated object that names its version; the
version is recorded under .dsu/versions/NAME/.

`scons patch from=A to=B`: builds <program>.A-to-B.patch.so next to each
Program, from the two recorded versions.  `full=1` makes it a full
replacement: every function and constant counts as changed.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

import SCons.Action
import SCons.Defaults
import SCons.Errors
import SCons.Script
import SCons.Tool

from ..cc import side_base, tool_digest
from ..codegen.unit import RUNTIME_INCLUDE, RUNTIME_LINK_FLAGS
from ..frontend.errors import DsuError
from ..versions.names import check_version_name

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PACKAGE_PARENT = os.path.dirname(_PACKAGE_DIR)
RUNTIME_SOURCES = [os.path.join(os.path.dirname(RUNTIME_INCLUDE), 'dsu_runtime.c')]
# The side files the wrapper leaves for each object (dsu_tool.cc): only
# the manifest is declared to SCons.  An object builder's targets are
# what `env.Object()` returns, and a Program given them compiles every
# target whose suffix it takes as a source (.c, .i with swig loaded...);
# .json is nobody's source.  The manifest holds a digest of the
# preprocessed unit, so it changes whenever the unit does.
SIDE_SUFFIXES = ('.dsu.json',)


# Every ARGUMENT the tool reads, for `scons -h`.
HELP = """
dsu tool (dynamic software updating), options given as NAME=VALUE:
  dsu=1              updateable build: every Program can be patched while it
                     runs; records the version under .dsu/versions/NAME/
  version=NAME       with dsu=1: the version's name (default: git-<commit> on a
                     clean git checkout, else h<content id>; the name is printed)
  patch from=A to=B  the target `patch`: build <program>.A-to-B.patch.so next to
                     each Program, from the recorded versions A and B
  force=1            with patch: build it even if no update point can take it
                     (the running program will refuse it too)
  full=1             with patch: a full replacement: every function is replaced
                     and every constant renewed, changed or not
  Versions: `dsu versions` lists them, `dsu versions --drop NAME` removes one.
"""
_help_given = []


def _arguments():
    return SCons.Script.ARGUMENTS


def _add_help():
    """Once per SCons run (generate() runs for every Environment).  Appended,
    so that `scons -h` still shows the project's own help and SCons'
    options; a later Help() call without append=True replaces it."""
    if not _help_given:
        _help_given.append(True)
        SCons.Script.Help(HELP, append=True)


def _flag(name):
    return _arguments().get(name, '0') not in ('0', '', 'no', 'false')


def dsu_mode():
    return _flag('dsu')


def patch_mode():
    return 'patch' in SCons.Script.COMMAND_LINE_TARGETS


def _check_names():
    """Version names become paths and C strings: a bad one stops SCons
    before anything is built or written.  Only the mode that uses a name
    checks it (an ordinary build leaves the project's own arguments alone)."""
    args = _arguments()
    options = (['version'] if dsu_mode() else []) + (['from', 'to'] if patch_mode() else [])
    for option in options:
        if args.get(option):
            try:
                check_version_name(args[option], option)
            except DsuError as e:
                _stop(str(e))


def _stop(message):
    """A usage error found while SCons reads the SConstructs: the message,
    without a Python stack position, and exit status 2, before anything
    is built."""
    print('scons: *** %s' % message, file=sys.stderr)
    SCons.Script.Exit(2)


# -- objects ---------------------------------------------------------------

def _object_emitter(original):
    def emitter(target, source, env):
        if original is not None:
            target, source = original(target, source, env)
        if not env.get('_DSU_PASS'):
            return target, source
        base = side_base(env.Dir('#').get_abspath(), target[0].get_abspath())
        target = list(target) + [env.File(base + s) for s in SIDE_SUFFIXES]
        return target, source
    return emitter


def _wrap_compiles(env):
    static_obj, shared_obj = SCons.Tool.createObjBuilders(env)
    env['_DSU_PASS'] = True
    for builder, emitter in ((static_obj, SCons.Defaults.StaticObjectEmitter),
                             (shared_obj, SCons.Defaults.SharedObjectEmitter)):
        # Builders are shared between environments: the emitter is added
        # once and acts only where _DSU_PASS is set.
        if not getattr(builder, '_dsu_emitter', False):
            builder.add_emitter('.c', _object_emitter(emitter))
            builder._dsu_emitter = True
    # The tool id is part of the command line, hence of SCons' build
    # signature: a new version of the pass rebuilds what it made.
    wrapper = ('$DSU_PYTHON -m dsu_tool.cc --root $DSUROOT --tool-id %s '
               '$_DSUPASSES -- ' % tool_digest()[:12])
    for var in ('CCCOM', 'SHCCCOM'):
        if not env[var].startswith(wrapper):
            env[var] = wrapper + env[var]


# -- programs ----------------------------------------------------------------

_runtime = {}
RUNTIME_FLAGS = ['-O2', '-fPIC', '-pthread']


def _runtime_library(env):
    """The runtime library of the project, built without the pass."""
    root = env.Dir('#').get_abspath()
    if root in _runtime:
        return _runtime[root]
    headers = [os.path.join(RUNTIME_INCLUDE, h) for h in sorted(os.listdir(RUNTIME_INCLUDE))
               if h.endswith('.h')]
    # the parts dsu_runtime.c includes
    here = os.path.dirname(RUNTIME_INCLUDE)
    headers += [os.path.join(here, f) for f in sorted(os.listdir(here))
                if f.endswith(('.c', '.h')) and os.path.join(here, f) not in RUNTIME_SOURCES]
    _runtime[root] = env.Command('#.dsu/build/libdsurt.a', RUNTIME_SOURCES + headers,
                                 _action(_build_runtime, 'DSURUNTIMECOMSTR'))
    return _runtime[root]


def _action(function, comstr):
    """An action of the tool's own, shown as the construction variable
    COMSTR says (never as a Python call); an empty COMSTR shows nothing,
    and -s / -Q act on it as on every other command."""
    def show(target, source, env):
        return env.subst('$' + comstr, target=target, source=source)
    return SCons.Action.Action(function, strfunction=show)


def runtime_cache_dir():
    """Where compiled runtimes are kept between builds and projects:
    $DSU_CACHE_DIR, else $XDG_CACHE_HOME/dsu, else ~/.cache/dsu."""
    if os.environ.get('DSU_CACHE_DIR'):
        return os.environ['DSU_CACHE_DIR']
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'dsu')


def _build_runtime(target, source, env):
    """Compile the runtime with the project's compiler, or copy it from the
    cache when that compiler (by its own version text) already compiled
    these very sources with these flags: a clean build of any project then
    costs no runtime compile."""
    cc, ar = env.subst('$CC') or 'gcc', env.subst('$AR') or 'ar'
    out = target[0].get_abspath()
    key = hashlib.sha1()
    try:
        for args in ([cc, '--version'], [cc, '-dumpmachine']):
            key.update(subprocess.run(args, capture_output=True, check=True).stdout)
    except (OSError, subprocess.CalledProcessError) as e:
        print('dsu: cannot run the C compiler %s: %s' % (cc, e), file=sys.stderr)
        return 1
    key.update(' '.join(RUNTIME_FLAGS).encode())
    for node in source:
        with open(node.get_abspath(), 'rb') as f:
            key.update(f.read())
    cached = os.path.join(runtime_cache_dir(), 'runtime', key.hexdigest()[:20], 'libdsurt.a')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if os.path.isfile(cached):
        shutil.copyfile(cached, out)
        return 0
    work = tempfile.mkdtemp(prefix='dsurt-', dir=os.path.dirname(out))
    try:
        objects = []
        for src in RUNTIME_SOURCES:
            obj = os.path.join(work, os.path.basename(src)[:-2] + '.o')
            p = subprocess.run([cc] + RUNTIME_FLAGS + ['-I', RUNTIME_INCLUDE, '-c', '-o', obj,
                                                       src], capture_output=True, text=True)
            if p.returncode:
                sys.stderr.write(p.stdout + p.stderr)
                return p.returncode
            objects.append(obj)
        if os.path.exists(out):
            os.remove(out)
        p = subprocess.run([ar, 'rcs', out] + objects, capture_output=True, text=True)
        if p.returncode:
            sys.stderr.write(p.stdout + p.stderr)
            return p.returncode
    finally:
        shutil.rmtree(work, ignore_errors=True)
    try:          # keep it for the next build; without a cache, just go on
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        partial = '%s.%d' % (cached, os.getpid())
        shutil.copyfile(out, partial)
        os.replace(partial, cached)
    except OSError:
        pass
    return 0


def _program_emitter(target, source, env):
    program = target[0]
    # The object builder's side files (see _object_emitter) are not for
    # the linker; the manifests go to the version record.
    objects = _without_side_files(source)
    root = env.Dir('#').get_abspath()
    units = objects + _own_library_objects(env, objects)
    manifests = [env.File(side_base(root, o.get_abspath()) + '.dsu.json') for o in units
                 if o.has_builder() and env.get('_DSU_PASS')
                 and str(o.sources[0] if o.sources else '').endswith('.c')]
    if patch_mode():
        _patch_target(env, program)
    if not dsu_mode() or not manifests:
        return target, objects
    rel = program.get_path(env.Dir('#'))
    base = '#.dsu/build/' + rel
    name = _arguments().get('version', '')
    info = env.Command(
        base + '.version.c', manifests + [env.Value(name), env.Value(rel)],
        _action(_record_version_action, 'DSUVERSIONCOMSTR'),
        DSUPROGRAM=rel, DSUVERSIONNAME=name or '(name from git or content)')
    # Recording the version may compile some units again (versions.agree):
    # archives are made after it, from the objects as they are linked.
    for lib in _own_libraries(env, objects):
        env.Depends(lib, info)
    # (env may be an OverrideEnvironment, which cannot be cloned: overrides)
    env.Depends(program, env['_DSURUNTIME'])
    env.AddPostAction(program, SCons.Action.Action(_mark_linked_action, None))
    version_obj = env.Object(base + '.version.o', info,
                             CCCOM=env['CCCOM'].split(' -- ', 1)[-1],
                             CPPPATH=[RUNTIME_INCLUDE], _DSU_PASS=False)
    objects += [version_obj[0]]
    return target, objects


def _without_side_files(nodes):
    return [n for n in nodes if not str(n).endswith(SIDE_SUFFIXES)]


def _library_emitter(target, source, env):
    """`env.Library('x', env.Object(...))`: the manifests are no members."""
    return target, _without_side_files(source)


def _own_library_objects(env, sources):
    """The objects of the program's own static libraries: their units
    belong to the program's version too."""
    out = []
    for lib in _own_libraries(env, sources):
        out += _without_side_files(lib.sources)
    return out


def _own_libraries(env, sources):
    """The program's own static libraries (built in this project), given
    as sources, as nodes in LIBS, or by name in LIBS and LIBPATH."""
    libs = [s for s in sources if str(s).endswith(env.subst('$LIBSUFFIX'))]
    for lib in env.Flatten([env.get('LIBS', [])]):
        if not isinstance(lib, str):
            libs.append(lib)
            continue
        for d in env.Flatten([env.get('LIBPATH', [])]):
            node = env.File(env.subst('$LIBPREFIX') + lib + env.subst('$LIBSUFFIX'),
                            env.Dir(d))
            if node.has_builder():
                libs.append(node)
                break
    return [lib for lib in libs if hasattr(lib, 'has_builder') and lib.has_builder()]


def _record_version_action(target, source, env):
    from ..versions.record import record_version
    manifests = [s.get_abspath() for s in source if str(s).endswith('.dsu.json')]
    name, rel = source[-2].read() or None, source[-1].read()
    try:
        unpatchable = _unpatchable_link(env)
        recorded, vid, replaced, recompiled = record_version(
            env.Dir('#').get_abspath(), rel, name, manifests, target[0].get_abspath(),
            unpatchable, compile_env={k: str(v) for k, v in env['ENV'].items()})
    except DsuError as e:
        raise SCons.Errors.UserError(str(e))
    _refresh_signatures([env.File(path) for unit in recompiled for path in unit])
    if replaced:
        print('dsu: version %s of %s replaces its record from a build that never linked '
              '(id %s)' % (recorded, rel, replaced))
    if unpatchable:
        print('dsu: %s: %s' % (rel, unpatchable))
    if not name:
        # The name is needed later (patch from=NAME): say it even under -s.
        print('dsu: recorded %s as version %s (no version= given)' % (rel, recorded))
    return 0


def _refresh_signatures(nodes):
    """NODES (an object and its manifest) were compiled again by
    record_version after SCons took their signatures: take them again, so
    that what SCons stores for the link is what was linked, and the next
    build finds everything up to date."""
    for node in nodes:
        stored = node._memo.get('get_stored_info')    # what .sconsign gets
        node.clear_memoized_values()                   # the file's stat
        if stored is not None:
            node._memo['get_stored_info'] = stored
        node.ninfo = node.new_ninfo()
        node.ninfo.update(node)


def _unpatchable_link(env):
    """Why the program's link makes it impossible to load a patch, or None.
    A statically linked program has no dynamic loader to bind a patch
    (the linker also warns about the runtime's dlopen)."""
    flags = env.subst('$LINKFLAGS').split()
    static = [f for f in flags if f in ('-static', '-static-pie', '--static')]
    if static:
        return ('linked with %s (LINKFLAGS): it runs, but no patch can be loaded into '
                'it, since a patch needs the dynamic loader; link the updateable build '
                'without it' % static[0])
    return None


def _mark_linked_action(target, source, env):
    from ..versions.record import mark_linked
    root = env.Dir('#').get_abspath()
    rel = target[0].get_path(env.Dir('#'))
    mark_linked(root, rel, os.path.join(root, '.dsu', 'build', rel + '.version.json'))
    return 0


# -- patches -------------------------------------------------------------------

def _patch_target(env, program):
    """`<program>.A-to-B.patch.so`, built from the two recorded versions."""
    args = _arguments()
    frm, to = args.get('from'), args.get('to')
    if not frm or not to:
        _stop('scons patch needs from=VERSION and to=VERSION')
    if frm == to:
        _stop(
            'scons patch from=%s to=%s: a patch goes from one version to another; '
            'record the new sources first (scons dsu=1 version=NEW), then '
            'scons patch from=%s to=NEW' % (frm, to, frm))
    rel = program.get_path(env.Dir('#'))
    patch = env.Command('#%s.%s-to-%s.patch.so' % (rel, frm, to),
                        [env.Value(rel), env.Value(frm), env.Value(to)],
                        _action(_build_patch_action, 'DSUPATCHCOMSTR'),
                        DSUPROGRAM=rel, DSUFROM=frm, DSUTO=to)
    env.AlwaysBuild(patch)
    env.Alias('patch', patch)


def _build_patch_action(target, source, env):
    from ..patchgen import build_patch
    from ..progress import Progress
    from ..versions.record import recorded_meta
    rel, frm, to = (s.read() for s in source[:3])
    a, b = (recorded_meta(env.Dir('#').get_abspath(), v, rel) or {} for v in (frm, to))
    if a.get('unpatchable'):
        raise SCons.Errors.UserError('%s %s cannot take a patch: %s'
                                     % (rel, frm, a['unpatchable']))
    a, b = a.get('id'), b.get('id')
    if a and a == b:
        raise SCons.Errors.UserError(
            'versions %s and %s of %s were recorded from identical sources (id %s): '
            'there is nothing to patch' % (frm, to, rel, a))
    # what the build is doing, quiet as the commands are under -s
    progress = Progress('dsu: patch %s %s -> %s' % (rel, frm, to),
                        quiet=bool(SCons.Script.GetOption('silent')))
    try:
        summary = build_patch(env.Dir('#').get_abspath(), rel, frm, to,
                              target[0].get_abspath(),
                              force=_flag('force'), full=_flag('full'),
                              progress=progress)
    except DsuError as e:
        raise SCons.Errors.UserError(str(e))
    finally:
        progress.close()
    print(summary)
    return 0


def generate(env):
    # `#include <dsu.h>` must resolve in every compile, also where a builder
    # call overrides CPPPATH: the flag goes on the command lines themselves,
    # after the project's own include directories.
    env['_DSUINCFLAGS'] = '-I' + RUNTIME_INCLUDE
    for var in ('CCCOM', 'SHCCCOM'):
        if '$_DSUINCFLAGS' not in env[var]:
            env[var] = env[var] + ' $_DSUINCFLAGS'
    env.SetDefault(DSU_PYTHON='"%s"' % sys.executable,
                   DSUROOT=env.Dir('#').get_abspath(),
                   DSUPASSES='',
                   DSUVERSIONCOMSTR='Recording version $DSUVERSIONNAME of $DSUPROGRAM',
                   DSUPATCHCOMSTR='Building patch $TARGET ($DSUPROGRAM $DSUFROM -> $DSUTO)',
                   DSURUNTIMECOMSTR='Building the dsu runtime $TARGET')
    _add_help()
    env['_DSUPASSES'] = '${"--passes " + DSUPASSES if DSUPASSES else ""}'
    pythonpath = env['ENV'].get('PYTHONPATH', '')
    if _PACKAGE_PARENT not in pythonpath.split(os.pathsep):
        env['ENV']['PYTHONPATH'] = os.pathsep.join(
            p for p in (_PACKAGE_PARENT, pythonpath) if p)
    _check_names()
    env.AppendUnique(PROGEMITTER=[_program_emitter], LIBEMITTER=[_library_emitter],
                     SHLIBEMITTER=[_library_emitter])
    if dsu_mode():
        env.AppendUnique(CPPDEFINES=['DSU_UPDATEABLE'])
        _wrap_compiles(env)
        # The runtime and its flags go on the link command itself, so that a
        # Program call overriding LIBS or LINKFLAGS keeps them.  Patch code
        # refers to the exported symbols.  `-z text` (in RUNTIME_LINK_FLAGS):
        # a relocation in read-only code would make the loader write .text,
        # and a slot or table placed there by mistake would fault when a
        # patch writes it; such a link fails instead.
        runtime = _runtime_library(env)
        env['_DSULINKFLAGS'] = [runtime[0].get_abspath()] + RUNTIME_LINK_FLAGS
        env['_DSURUNTIME'] = runtime
        if '$_DSULINKFLAGS' not in env['LINKCOM']:
            env['LINKCOM'] = env['LINKCOM'] + ' $_DSULINKFLAGS'


def exists(env):
    return True
