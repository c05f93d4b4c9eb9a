"""`dsu patch`: build a patch between two recorded versions of a program,
without SCons (for programs built with `dsu cc`; SCons projects use
`scons patch from=A to=B`, which makes the same patch)."""

import os

from .frontend.errors import DsuError
from .versions.names import check_version_name
from .versions.request import check_request, same_version


def patch_path(root, program, frm, to):
    """PROGRAM.A-to-B.patch.so, next to the program."""
    return os.path.join(root, '%s.%s-to-%s.patch.so' % (program, frm, to))


def make_patch(root, program_path, frm, to, out=None, force=False, full=False,
               quiet=False, jobs=None):
    """Build the patch of the program at PROGRAM_PATH; return (its path,
    its summary).  Raises DsuError."""
    from .patchgen import build_patch
    from .progress import Progress
    check_version_name(frm, '--from')
    check_version_name(to, '--to')
    same = same_version(frm, to, 'dsu patch --from %(from)s --to %(to)s PROGRAM',
                        'build it with CC="dsu cc --version-name %(to)s"')
    if same:
        raise DsuError(same)
    program = os.path.relpath(os.path.abspath(program_path), root)
    if program.startswith('..'):
        raise DsuError('the program %s is outside the project root %s: give the root '
                       'with --root DIR' % (program_path, root))
    check_request(root, program, frm, to)
    out = out or patch_path(root, program, frm, to)
    progress = Progress('dsu: patch %s %s -> %s' % (program, frm, to), quiet=quiet)
    try:
        summary = build_patch(root, program, frm, to, out, force=force, full=full,
                              progress=progress, jobs=jobs)
    finally:
        progress.close()
    return out, summary
