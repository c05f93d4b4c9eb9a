"""What happens around the link of an updateable program, whatever
builds it (the SCons tool or the compiler wrapper `dsu cc`): record the
version from the units' manifests before the link, mark it linked and
say what it lets a patch change after.

The version object of program REL is .dsu/build/REL.version.c (and .o),
with .dsu/build/REL.version.json naming the version it was made for.
"""

import json
import os

from .cachelimit import prune
from .frontend.errors import DsuError

BUILD = os.path.join('.dsu', 'build')


def version_base(root, program):
    """.dsu/build/PROGRAM.version, without the suffix."""
    return os.path.join(root, BUILD, program + '.version')


def unpatchable_link(flags, where):
    """Why a link with FLAGS (named WHERE in the message) makes it
    impossible to load a patch, or None.  A statically linked program has
    no dynamic loader to bind a patch (the linker also warns about the
    runtime's dlopen)."""
    static = [f for f in flags if f in ('-static', '-static-pie', '--static')]
    if static:
        return ('linked with %s (%s): it runs, but no patch can be loaded into '
                'it, since a patch needs the dynamic loader; link the updateable build '
                'without it' % (static[0], where))
    return None


def record(root, program, name, manifests, unpatchable=None, name_option='version=',
           compile_env=None):
    """Record the version of PROGRAM (its path in the project) built from
    MANIFESTS and write its version .c; return the lines to tell the
    developer (NAME_OPTION: how the build is given a version name) and
    the (manifest, object) paths of the units compiled again so that all
    units agree on the structs kept unwrapped (in COMPILE_ENV).
    Raises DsuError."""
    from .versions.record import record_version
    os.makedirs(os.path.dirname(version_base(root, program)), exist_ok=True)
    recorded, vid, replaced, recompiled = record_version(
        root, program, name, manifests, version_base(root, program) + '.c', unpatchable,
        compile_env=compile_env)
    lines = []
    if replaced:
        lines.append('dsu: version %s of %s replaces its record from a build that never '
                     'linked (id %s)' % (recorded, program, replaced))
    if unpatchable:
        lines.append('dsu: %s: %s' % (program, unpatchable))
    if not name:
        # The name is needed later (patch from=NAME): say it even when quiet.
        lines.append('dsu: recorded %s as version %s (no %s given)'
                     % (program, recorded, name_option))
    return lines, recompiled


def linked(root, program, summary=True):
    """After PROGRAM linked with its version object: its record can no
    longer be replaced.  Return the lines that say what the version lets
    a patch change (none unless SUMMARY, or when nothing was recorded)."""
    from .versions.record import mark_linked
    version_json = version_base(root, program) + '.json'
    if not os.path.exists(version_json):
        return []         # a program with no unit of its own compiled by the pass
    mark_linked(root, program, version_json)
    lines = []
    try:
        prune(root)
    except DsuError as e:
        lines.append('dsu: warning: %s; .dsu/cache was not pruned' % e)
    if not summary:
        return lines
    from .report.version import load, summary_line
    try:
        with open(version_json) as f:
            name = json.load(f)['name']
        reports = load(root, name, program)
    except (OSError, ValueError, KeyError, DsuError):
        reports = []
    return lines + ['dsu: ' + summary_line(rep) for rep in reports]
