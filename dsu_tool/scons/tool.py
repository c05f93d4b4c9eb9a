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

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PACKAGE_PARENT = os.path.dirname(_PACKAGE_DIR)
RUNTIME_SOURCES = [os.path.join(os.path.dirname(RUNTIME_INCLUDE), 'dsu_runtime.c')]
SIDE_SUFFIXES = ('.dsu.c', '.dsu.i', '.dsu.json')


def _arguments():
    return SCons.Script.ARGUMENTS


def _flag(name):
    return _arguments().get(name, '0') not in ('0', '', 'no', 'false')


def dsu_mode():
    return _flag('dsu')


def patch_mode():
    return 'patch' in SCons.Script.COMMAND_LINE_TARGETS


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
    _runtime[root] = env.Command('#.dsu/build/libdsurt.a', RUNTIME_SOURCES + headers,
                                 SCons.Action.Action(_build_runtime, _runtime_message))
    return _runtime[root]


def _runtime_message(target, source, env):
    return 'dsu runtime: %s' % target[0]


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
    objects = [s for s in source if not str(s).endswith(SIDE_SUFFIXES)]
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
        SCons.Action.Action(_record_version_action, '$DSUVERSIONCOMSTR'))
    env.Depends(info, [m.get_abspath()[:-len('.json')] + '.i' for m in manifests])
    # (env may be an OverrideEnvironment, which cannot be cloned: overrides)
    env.Depends(program, env['_DSURUNTIME'])
    version_obj = env.Object(base + '.version.o', info,
                             CCCOM=env['CCCOM'].split(' -- ', 1)[-1],
                             CPPPATH=[RUNTIME_INCLUDE], _DSU_PASS=False)
    objects += [version_obj[0]]
    return target, objects


def _own_library_objects(env, sources):
    """The objects of the program's own static libraries (built in this
    project), given as sources, as nodes in LIBS, or by name in LIBS and
    LIBPATH: their units belong to the program's version too."""
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
    out = []
    for lib in libs:
        if hasattr(lib, 'has_builder') and lib.has_builder():
            out += [o for o in lib.sources if not str(o).endswith(SIDE_SUFFIXES)]
    return out


def _record_version_action(target, source, env):
    from ..versions.record import record_version
    manifests = [s.get_abspath() for s in source if str(s).endswith('.dsu.json')]
    name, rel = source[-2].read() or None, source[-1].read()
    try:
        record_version(env.Dir('#').get_abspath(), rel, name, manifests,
                       target[0].get_abspath())
    except DsuError as e:
        raise SCons.Errors.UserError(str(e))
    return 0


# -- patches -------------------------------------------------------------------

def _patch_target(env, program):
    """`<program>.A-to-B.patch.so`, built from the two recorded versions."""
    args = _arguments()
    frm, to = args.get('from'), args.get('to')
    if not frm or not to:
        raise SCons.Errors.UserError('scons patch needs from=VERSION and to=VERSION')
    rel = program.get_path(env.Dir('#'))
    patch = env.Command('#%s.%s-to-%s.patch.so' % (rel, frm, to),
                        [env.Value(rel), env.Value(frm), env.Value(to)],
                        SCons.Action.Action(_build_patch_action, '$DSUPATCHCOMSTR'))
    env.AlwaysBuild(patch)
    env.Alias('patch', patch)


def _build_patch_action(target, source, env):
    from ..patchgen import build_patch
    rel, frm, to = (s.read() for s in source[:3])
    try:
        summary = build_patch(env.Dir('#').get_abspath(), rel, frm, to,
                              target[0].get_abspath(),
                              force=_flag('force'), full=_flag('full'))
    except DsuError as e:
        raise SCons.Errors.UserError(str(e))
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
                   DSUPASSES='', DSUVERSIONCOMSTR='', DSUPATCHCOMSTR='')
    env['_DSUPASSES'] = '${"--passes " + DSUPASSES if DSUPASSES else ""}'
    pythonpath = env['ENV'].get('PYTHONPATH', '')
    if _PACKAGE_PARENT not in pythonpath.split(os.pathsep):
        env['ENV']['PYTHONPATH'] = os.pathsep.join(
            p for p in (_PACKAGE_PARENT, pythonpath) if p)
    env.AppendUnique(PROGEMITTER=[_program_emitter])
    if dsu_mode():
        env.AppendUnique(CPPDEFINES=['DSU_UPDATEABLE'])
        _wrap_compiles(env)
        # The runtime and its flags go on the link command itself, so that a
        # Program call overriding LIBS or LINKFLAGS keeps them.  Patch code
        # refers to the exported symbols.
        runtime = _runtime_library(env)
        env['_DSULINKFLAGS'] = [runtime[0].get_abspath()] + RUNTIME_LINK_FLAGS
        env['_DSURUNTIME'] = runtime
        if '$_DSULINKFLAGS' not in env['LINKCOM']:
            env['LINKCOM'] = env['LINKCOM'] + ' $_DSULINKFLAGS'


def exists(env):
    return True
