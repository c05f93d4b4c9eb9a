"""Every unit of a program agrees on the layout of each struct.

A unit keeps a struct unwrapped where it observes its layout, size or
bytes (model.structs, analysis.observed); another unit that sees the
same struct but not those uses would wrap it, and the two would disagree
on its layout in one program.  Each compile therefore records the structs
it keeps unwrapped in the project's .dsu/fixed.json and keeps every struct
listed there unwrapped too (dsu_tool.cc).  Units compile in any order, in
parallel, or not at all when they are up to date: a unit compiled before
another added a struct to the file still wraps it.  Before the program is
linked, such units are compiled again, through the same compiler wrapper
and with the same command; they then read the struct from the file.  The
file only grows, so this ends (and later builds start from it: a struct
once kept unwrapped keeps the layout the deployed program has).
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from ..cc import Command
from ..frontend.errors import DsuError
from ..model.structs import load_fixed, record_fixed
from ..passes import DEFAULT

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load(path):
    with open(path) as f:
        return json.load(f)


def _wraps(manifest):
    return 'wrap' in manifest.get('passes', DEFAULT)


def make_units_agree(root, manifests, compile_env=None):
    """Compile again each unit (by its manifest path in MANIFESTS) that
    wraps a struct the project keeps unwrapped, in the environment
    COMPILE_ENV that compiles ran in (default: this process's); return
    the (manifest, object) paths of those units."""
    recompiled = []
    for _ in range(len(manifests) + 1):
        loaded = [(path, _load(path)) for path in manifests]
        for _, m in loaded:                 # also when fixed.json was removed
            record_fixed(root, m.get('structs', []))
        fixed = load_fixed(root)
        stale = [(path, m) for path, m in loaded if _wraps(m) and any(
            s['wrapped'] and s['key'] in fixed for s in m.get('structs', []))]
        if not stale:
            return recompiled
        # in parallel: this waits at the link, after the last unit
        workers = max(1, min(len(stale), os.cpu_count() or 1))
        with ThreadPoolExecutor(workers) as pool:
            objects = list(pool.map(lambda m: recompile(root, m, compile_env),
                                    [m for _, m in stale]))
        for (path, _), obj in zip(stale, objects):
            if (path, obj) not in recompiled:
                recompiled.append((path, obj))
    s = next(s for _, m in stale for s in m['structs'] if s['wrapped'] and s['key'] in fixed)
    raise DsuError('%s is kept unwrapped in the program (%s), but %s still wraps it after '
                   'being compiled again' % (s['name'], fixed[s['key']], stale[0][1]['tu']),
                   s['file'], s['line'])


def recompile(root, manifest, compile_env=None):
    """Run the unit's compile again through the compiler wrapper, from
    its directory, with its flags: the object, its generated C and its
    manifest are replaced.  Returns the object's path."""
    passes = manifest.get('passes', DEFAULT)
    argv = [sys.executable, '-m', 'dsu_tool.cc', '--root', root]
    if list(passes) != list(DEFAULT):
        argv += ['--passes', ','.join(passes)]
    argv += ['--', manifest['cc']] + manifest['compile_args'] + [manifest['source']]
    env = dict(os.environ if compile_env is None else compile_env)
    env['PYTHONPATH'] = os.pathsep.join(
        [_PACKAGE_PARENT] + [p for p in [env.get('PYTHONPATH')] if p])
    r = subprocess.run(argv, cwd=manifest['cwd'], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise DsuError('compiling %s again, to keep the structs the program keeps unwrapped '
                       'unwrapped there too, failed:\n%s%s' % (manifest['tu'], r.stdout,
                                                                r.stderr))
    return os.path.join(manifest['cwd'], Command(argv[argv.index('--') + 1:]).output)
