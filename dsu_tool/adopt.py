"""`dsu init`: make an existing SCons project able to use the dsu tool.

SCons finds a tool by name in the project's site_scons/site_tools; this
writes a small shim there.  The shim names no path of this machine, so it
can be committed and works in every clone: it loads dsu_tool from the
Python that runs SCons, else from $DSU_TOOL_PATH, else from the `dsu`
command on PATH (`dsu --tool-path`).  Then one line in the SConstruct
adopts it:  env = Environment(tools=['default', 'dsu'])

It also writes or extends .gitignore with what not to commit (POLICY).
"""

import os

SHIM = '''"""The dsu SCons tool (written by `dsu init`; commit it: it holds no path
of this machine).

dsu_tool is loaded from the Python that runs SCons (dsu installed next to
SCons); else from the directory $DSU_TOOL_PATH; else from where the `dsu`
command found on PATH has it (`dsu --tool-path`)."""
try:
    import dsu_tool  # noqa: F401
except ImportError:
    import os
    import shutil
    import subprocess
    import sys
    _path = os.environ.get('DSU_TOOL_PATH', '')
    if not _path and shutil.which('dsu'):
        _path = subprocess.run([shutil.which('dsu'), '--tool-path'], capture_output=True,
                               text=True).stdout.strip()
    if not _path:
        raise ImportError(
            'the dsu SCons tool needs the dsu_tool package: install dsu into the '
            'Python that runs SCons (%s), put the `dsu` command on PATH, or set '
            'DSU_TOOL_PATH to the directory that holds dsu_tool' % sys.executable)
    sys.path.insert(0, _path)
from dsu_tool.scons.tool import generate, exists  # noqa: F401,E402
'''

# What a project commits and what it does not (the README's adoption
# section says why):
#   commit   site_scons/site_tools/dsu/ (the shim), .dsu/layouts.json (the
#            kept sizes of wrapped structs: every later build must use
#            them, or a patch meets other layouts than the running program
#            has), .dsu/fixed.json (the structs kept unwrapped, for the same
#            reason), dsu/*.xf.c (hand-written transformers)
#   ignore   .dsu/ otherwise: versions/ (the records patches are built
#            from: large, and tied to the compiler and system headers of
#            the machine that built them; keep them with each release you
#            deploy instead), cache/, gen/, build/, patches/; and the
#            built patches *.patch.so
POLICY = ['# dsu: commit .dsu/layouts.json, .dsu/fixed.json and dsu/*.xf.c; the rest of '
          '.dsu/ is generated', '.dsu/*', '!.dsu/layouts.json', '!.dsu/fixed.json',
          '*.patch.so']
# what earlier versions wrote: `.dsu/` hid layouts.json; the comment is now longer
_OLD_POLICY = ['.dsu/', '# dsu: commit .dsu/layouts.json and dsu/*.xf.c; the rest of '
               '.dsu/ is generated']


def init(project_dir):
    """Install the shim; return a list of what was done, for the user."""
    project_dir = os.path.abspath(project_dir)
    if not any(os.path.exists(os.path.join(project_dir, f))
               for f in ('SConstruct', 'Sconstruct', 'sconstruct', 'SConstruct.py')):
        raise FileNotFoundError('no SConstruct in %s: run `dsu init` at the top '
                                'of an SCons project' % project_dir)
    tool_dir = os.path.join(project_dir, 'site_scons', 'site_tools', 'dsu')
    os.makedirs(tool_dir, exist_ok=True)
    shim = os.path.join(tool_dir, '__init__.py')
    with open(shim, 'w') as f:
        f.write(SHIM)
    done = ['wrote %s (commit it)' % os.path.relpath(shim, project_dir)]
    added = extend_gitignore(os.path.join(project_dir, '.gitignore'))
    if added:
        done.append('added to .gitignore: %s' % ', '.join(added))
    return done


def extend_gitignore(path):
    """Add the lines of POLICY that PATH lacks (replacing a bare `.dsu/`,
    which would hide layouts.json, and the older comment); return the
    lines added."""
    try:
        with open(path) as f:
            lines = f.read().split('\n')
    except FileNotFoundError:
        lines = []
    if lines and lines[-1] == '':
        lines.pop()
    kept = [line for line in lines if line.strip() not in _OLD_POLICY]
    missing = [p for p in POLICY if p not in kept]
    if missing or len(kept) != len(lines):
        with open(path, 'w') as f:
            f.write('\n'.join(kept + missing) + '\n')
    return [p for p in missing if not p.startswith('#')]
