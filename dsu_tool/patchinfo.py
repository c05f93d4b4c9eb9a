"""Read the descriptor of a patch file (for `dsu info`)."""

import ctypes
import os


class PatchInfoError(Exception):
    pass


class _Patch(ctypes.Structure):
    _fields_ = [('magic', ctypes.c_uint), ('abi', ctypes.c_uint),
                ('program', ctypes.c_char_p),
                ('from_version', ctypes.c_char_p), ('from_id', ctypes.c_char_p),
                ('to_version', ctypes.c_char_p), ('to_id', ctypes.c_char_p),
                ('defs', ctypes.c_void_p), ('ndefs', ctypes.c_uint),
                ('imports', ctypes.c_void_p), ('nimports', ctypes.c_uint),
                ('updates', ctypes.c_void_p), ('nupdates', ctypes.c_uint),
                ('summary', ctypes.c_char_p)]


DSU_PATCH_MAGIC = 0x50555344


def read_patch(path):
    """The descriptor's fields as a dict.  Loading a patch runs none of its
    code (patches have no constructors); it only maps it."""
    if not os.path.isfile(path):
        raise PatchInfoError('%s: no such file' % path)
    try:
        lib = ctypes.CDLL(os.path.abspath(path), mode=os.RTLD_LAZY | os.RTLD_LOCAL)
    except OSError as e:
        raise PatchInfoError('%s is not a loadable shared object: %s' % (path, e))
    try:
        p = _Patch.in_dll(lib, 'dsu_patch')
    except ValueError:
        raise PatchInfoError('%s is not a dsu patch (no dsu_patch descriptor)' % path)
    if p.magic != DSU_PATCH_MAGIC:
        raise PatchInfoError('%s: bad descriptor magic' % path)

    def s(b):
        return b.decode('utf-8', 'replace') if b else ''
    return {'program': s(p.program), 'from': s(p.from_version), 'from_id': s(p.from_id),
            'to': s(p.to_version), 'to_id': s(p.to_id), 'ndefs': p.ndefs,
            'nimports': p.nimports, 'nupdates': p.nupdates, 'summary': s(p.summary)}
