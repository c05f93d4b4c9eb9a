"""Read what a patch file says about itself (for `dsu info`).

Every patch carries a JSON description in its ELF section "dsu_info"
(written by patchgen.emit.descriptor).  It is read from the file, so
describing a patch runs and binds nothing.
"""

import json

from .elf import ElfError, elf_section


class PatchInfoError(Exception):
    pass


def read_patch(path):
    try:
        raw = elf_section(path, 'dsu_info')
    except OSError as e:
        raise PatchInfoError('cannot read %s: %s' % (path, e.strerror)) from None
    except ElfError as e:
        raise PatchInfoError(str(e)) from None
    if raw is None:
        raise PatchInfoError('%s is not a dsu patch (no dsu_info section)' % path)
    try:
        return json.loads(raw.rstrip(b'\0').decode())
    except ValueError:
        raise PatchInfoError('%s: corrupt dsu_info section' % path) from None
