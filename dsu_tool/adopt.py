"""`dsu init`: make an existing SCons project able to use the dsu tool.

SCons finds a tool by name in the project's site_scons/site_tools; this
writes a small shim there that loads dsu_tool (from the Python that runs
SCons, or from where dsu is installed now).  Then one line in the
SConstruct adopts it:  env = Environment(tools=['default', 'dsu'])
"""

import os

import dsu_tool

SHIM = '''"""The dsu SCons tool (written by `dsu init`; safe to commit)."""
try:
    from dsu_tool.scons.tool import generate, exists  # noqa: F401
except ImportError:
    # SCons runs under a Python without dsu installed: use the copy that
    # `dsu init` was run from.
    import sys
    sys.path.insert(0, %r)
    from dsu_tool.scons.tool import generate, exists  # noqa: F401
'''

GITIGNORE = ['.dsu/', '*.patch.so']


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
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(dsu_tool.__file__)))
    with open(shim, 'w') as f:
        f.write(SHIM % package_parent)
    done = ['wrote %s' % os.path.relpath(shim, project_dir)]
    ignore = os.path.join(project_dir, '.gitignore')
    if os.path.isdir(os.path.join(project_dir, '.git')) or os.path.exists(ignore):
        existing = open(ignore).read().split('\n') if os.path.exists(ignore) else []
        missing = [p for p in GITIGNORE if p not in existing]
        if missing:
            with open(ignore, 'a') as f:
                f.write(('\n' if existing and existing[-1] else '') + '\n'.join(missing) + '\n')
            done.append('added %s to .gitignore' % ', '.join(missing))
    return done
