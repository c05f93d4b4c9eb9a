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

import os
import sys

import SCons.Action
import SCons.Defaults
import SCons.Errors
import SCons.Script
import SCons.Tool

from .. import linkstep
from . import warm
from ..cc import side_base, tool_digest
from ..codegen.unit import RUNTIME_INCLUDE, RUNTIME_LINK_FLAGS
from ..frontend.errors import DsuError
from ..versions.request import check_request, same_version
from ..runtimelib import LIBRARY, build_runtime, runtime_inputs
from ..versions.names import check_version_name

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PACKAGE_PARENT = os.path.dirname(_PACKAGE_DIR)
# The side files the wrapper leaves for each object (dsu_tool.cc): only
# the manifest is declared to SCons.  An object builder's targets are
# what `env.Object()` returns, and a Program given them compiles every
# target whose suffix it takes as a source (.c, .i with swig loaded...);
# .json is nobody's source.  The manifest holds a digest of the
# preprocessed unit, so it changes whenever the unit does.
SIDE_SUFFIXES = ('.dsu.json',)
# The settings of the caches (runtimelib, cachelimit, frontend.headers)
# that a compile reads from its environment.
_CACHE_SETTINGS = ('DSU_CACHE_DIR', 'XDG_CACHE_HOME', 'DSU_CACHE_SIZE', 'DSU_HEADER_CACHE')


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


def _patch_jobs():
    """The compiles a patch may run at once: SCons' -j when it is given
    (more than one), else one per processor (patchgen.build)."""
    jobs = SCons.Script.GetOption('num_jobs')
    return jobs if isinstance(jobs, int) and jobs > 1 else None


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
            # shown as the compile it wraps (unless the project sets *COMSTR)
            env['_DSUPLAIN' + var] = env[var]
            env.SetDefault(**{var + 'STR': '${_DSUSHOWN("%s")}' % var})
            env[var] = wrapper + env[var]
    env['_DSUSHOWN'] = _shown_compile


def _warm_compiles(env):
    """The wrapper's commands go to one warm process (scons/warm.py),
    when this run compiles anything."""
    if any(SCons.Script.GetOption(o) for o in ('clean', 'no_exec', 'help')):
        return
    spawn = env.get('SPAWN')
    if callable(spawn) and not getattr(spawn, '_dsu_warm', False) and warm.start():
        env['SPAWN'] = warm.spawn_through(spawn)


def _shown_compile(var):
    """`dsu-cc` and the ordinary compile command, as SCons would show it."""
    def show(target, source, env, for_signature):
        plain = env.subst(env['_DSUPLAIN' + var], target=target, source=source)
        return 'dsu-cc ' + plain.replace('$', '$$')
    return show


# -- programs ----------------------------------------------------------------

_runtime = {}


def _runtime_library(env):
    """The runtime library of the project, built without the pass."""
    root = env.Dir('#').get_abspath()
    if root in _runtime:
        return _runtime[root]
    _runtime[root] = env.Command('#' + LIBRARY.replace(os.sep, '/'), runtime_inputs(),
                                 _action(_build_runtime, 'DSURUNTIMECOMSTR'))
    return _runtime[root]


def _action(function, comstr):
    """An action of the tool's own, shown as the construction variable
    COMSTR says (never as a Python call); an empty COMSTR shows nothing,
    and -s / -Q act on it as on every other command."""
    def show(target, source, env):
        return env.subst('$' + comstr, target=target, source=source)
    return SCons.Action.Action(function, strfunction=show)


def _build_runtime(target, source, env):
    """Compile the runtime with the project's compiler (or take it from
    the cache: runtimelib.build_runtime)."""
    return build_runtime(env.subst('$CC') or 'gcc', env.subst('$AR') or 'ar',
                         target[0].get_abspath(), [n.get_abspath() for n in source])


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
    shown = env.get('CCCOMSTR')
    # never an LTO object: its slots are top-level asm, which LTO would
    # put beside the units' own definitions of the same slots (versions.record)
    version_obj = env.Object(base + '.version.o', info,
                             CCCOM=env['CCCOM'].split(' -- ', 1)[-1] + ' -fno-lto',
                             CCCOMSTR='' if '_DSUSHOWN' in (shown or '') else shown,
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
    manifests = [s.get_abspath() for s in source if str(s).endswith('.dsu.json')]
    name, rel = source[-2].read() or None, source[-1].read()
    try:
        lines, recompiled = linkstep.record(
            env.Dir('#').get_abspath(), rel, name, manifests, _unpatchable_link(env),
            compile_env={k: str(v) for k, v in env['ENV'].items()})
    except DsuError as e:
        raise SCons.Errors.UserError(str(e))
    _refresh_signatures([env.File(path) for unit in recompiled for path in unit])
    for line in lines:
        print(line)
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
    """Why the program's link makes it impossible to load a patch, or None."""
    return linkstep.unpatchable_link(env.subst('$LINKFLAGS').split(), 'LINKFLAGS')


def _mark_linked_action(target, source, env):
    if not env.get('_DSU_PASS'):
        return 0
    # the build ends with what the version lets a patch change
    for line in linkstep.linked(env.Dir('#').get_abspath(), target[0].get_path(env.Dir('#')),
                                summary=not SCons.Script.GetOption('silent')):
        print(line)
    return 0


# -- patches -------------------------------------------------------------------

def _patch_target(env, program):
    """`<program>.A-to-B.patch.so`, built from the two recorded versions."""
    args = _arguments()
    frm, to = args.get('from'), args.get('to')
    if not frm or not to:
        _stop('scons patch needs from=VERSION and to=VERSION')
    same = same_version(frm, to, 'scons patch from=%(from)s to=%(to)s',
                        'scons dsu=1 version=%(to)s')
    if same:
        _stop(same)
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
    rel, frm, to = (s.read() for s in source[:3])
    try:
        check_request(env.Dir('#').get_abspath(), rel, frm, to)
    except DsuError as e:
        raise SCons.Errors.UserError(e.message)
    # what the build is doing, quiet as the commands are under -s
    progress = Progress('dsu: patch %s %s -> %s' % (rel, frm, to),
                        quiet=bool(SCons.Script.GetOption('silent')))
    refused = None
    try:
        summary = build_patch(env.Dir('#').get_abspath(), rel, frm, to,
                              target[0].get_abspath(),
                              force=_flag('force'), full=_flag('full'),
                              progress=progress, jobs=_patch_jobs())
    except DsuError as e:
        refused = str(e)
    finally:
        progress.close()
    if refused is not None:
        # raised here, not in the handler: SCons keeps the error until it
        # exits, and with it the handler's traceback, whose frames hold
        # both versions of the program (redis: 775,000 objects, which the
        # interpreter's exit then spent 1.8 s collecting and freeing)
        raise SCons.Errors.UserError(refused)
    # one write: with -j, other actions print from other threads meanwhile
    sys.stdout.write(summary + '\n')
    sys.stdout.flush()
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
    # The compiles run in SCons' ENV, not in the shell's environment: the
    # caches they use and their bounds are the ones the developer set
    for var in _CACHE_SETTINGS:
        if var in os.environ and var not in env['ENV']:
            env['ENV'][var] = os.environ[var]
    _check_names()
    env.AppendUnique(PROGEMITTER=[_program_emitter], LIBEMITTER=[_library_emitter],
                     SHLIBEMITTER=[_library_emitter])
    if dsu_mode():
        env.AppendUnique(CPPDEFINES=['DSU_UPDATEABLE'])
        _wrap_compiles(env)
        _warm_compiles(env)
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
        # After the link: mark the version as linked, say what it lets a
        # patch change.  (A post action added from the emitter would be
        # lost: the builder makes the node's executor after the emitter.)
        program = env['BUILDERS']['Program']
        if not getattr(program, '_dsu_after_link', False):
            program.action = SCons.Action.ListAction(
                [program.action, SCons.Action.Action(_mark_linked_action, None)])
            program._dsu_after_link = True


def exists(env):
    return True
