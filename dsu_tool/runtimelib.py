"""The runtime library an updateable program links with (libdsurt.a).

Shared by the SCons tool and the compiler wrapper (`dsu cc`): both build
it with the project's compiler into .dsu/build/ of the project, and both
take it from a cache shared between builds and projects when that compiler
already compiled these very sources with these flags.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

from .codegen.unit import RUNTIME_INCLUDE

RUNTIME_DIR = os.path.dirname(RUNTIME_INCLUDE)
RUNTIME_SOURCES = [os.path.join(RUNTIME_DIR, 'dsu_runtime.c')]
RUNTIME_FLAGS = ['-O2', '-fPIC', '-pthread']
LIBRARY = os.path.join('.dsu', 'build', 'libdsurt.a')


def runtime_inputs():
    """Every file the library is made from: the sources, the public and
    internal headers, and the parts dsu_runtime.c includes."""
    headers = [os.path.join(RUNTIME_INCLUDE, h) for h in sorted(os.listdir(RUNTIME_INCLUDE))
               if h.endswith('.h')]
    headers += [os.path.join(RUNTIME_DIR, f) for f in sorted(os.listdir(RUNTIME_DIR))
                if f.endswith(('.c', '.h'))
                and os.path.join(RUNTIME_DIR, f) not in RUNTIME_SOURCES]
    return RUNTIME_SOURCES + headers


def runtime_cache_dir():
    """Where compiled runtimes are kept between builds and projects:
    $DSU_CACHE_DIR, else $XDG_CACHE_HOME/dsu, else ~/.cache/dsu."""
    if os.environ.get('DSU_CACHE_DIR'):
        return os.environ['DSU_CACHE_DIR']
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'dsu')


def _copy_atomic(src, dst):
    """Programs linked in parallel (make -j) may read DST meanwhile: they
    see the old file or the new one, never half of one."""
    partial = '%s.%d.tmp' % (dst, os.getpid())
    shutil.copyfile(src, partial)
    os.replace(partial, dst)


def build_runtime(cc, ar, out, inputs):
    """Compile the runtime with CC into the archive OUT (made with AR);
    INPUTS are the files it is made from (runtime_inputs()).  Return the
    exit status (0: built), after printing any error.

    The library is copied from the cache when that compiler (by its own
    version text) already compiled these very sources with these flags:
    a clean build of any project then costs no runtime compile.  OUT is
    left alone when it already is that library (a link that reuses it)."""
    key = hashlib.sha1()
    try:
        for args in ([cc, '--version'], [cc, '-dumpmachine']):
            key.update(subprocess.run(args, capture_output=True, check=True).stdout)
    except (OSError, subprocess.CalledProcessError) as e:
        print('dsu: cannot run the C compiler %s: %s' % (cc, e), file=sys.stderr)
        return 1
    key.update(' '.join(RUNTIME_FLAGS).encode())
    for path in inputs:
        with open(path, 'rb') as f:
            key.update(f.read())
    key = key.hexdigest()[:20]
    stamp = out + '.key'
    os.makedirs(os.path.dirname(out), exist_ok=True)
    try:
        with open(stamp) as f:
            if f.read() == key and os.path.isfile(out):
                return 0
    except OSError:
        pass
    cached = os.path.join(runtime_cache_dir(), 'runtime', key, 'libdsurt.a')
    if os.path.isfile(cached):
        _copy_atomic(cached, out)
        _write_stamp(stamp, key)
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
        archive = os.path.join(work, 'libdsurt.a')
        p = subprocess.run([ar, 'rcs', archive] + objects, capture_output=True, text=True)
        if p.returncode:
            sys.stderr.write(p.stdout + p.stderr)
            return p.returncode
        os.replace(archive, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _write_stamp(stamp, key)
    try:          # keep it for the next build; without a cache, just go on
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        _copy_atomic(out, cached)
    except OSError:
        pass
    return 0


def _write_stamp(path, key):
    partial = '%s.%d.tmp' % (path, os.getpid())
    with open(partial, 'w') as f:
        f.write(key)
    os.replace(partial, path)
