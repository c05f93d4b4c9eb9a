"""Read what a patch file says about itself (for `dsu info`).

Every patch carries a JSON description in its ELF section "dsu_info"
(written by patchgen.emit.descriptor).  It is read from the file, so
describing a patch runs and binds nothing.
"""

import json
import struct


class PatchInfoError(Exception):
    pass


def elf_section(path, wanted):
    """The bytes of section WANTED of the ELF file at PATH, or None."""
    with open(path, 'rb') as f:
        data = f.read()
    if data[:4] != b'\x7fELF':
        raise PatchInfoError('%s is not an ELF shared object' % path)
    if data[4] != 2 or data[5] != 1:
        raise PatchInfoError('%s: only 64-bit little-endian ELF is supported' % path)
    try:
        shoff, = struct.unpack_from('<Q', data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3A)

        def header(i):
            name, _type, _flags, _addr, offset, size = struct.unpack_from(
                '<IIQQQQ', data, shoff + i * shentsize)
            return name, offset, size
        _, str_off, str_size = header(shstrndx)
        names = data[str_off:str_off + str_size]
        for i in range(shnum):
            name, offset, size = header(i)
            end = names.index(b'\0', name)
            if names[name:end].decode() == wanted:
                return data[offset:offset + size]
    except (struct.error, ValueError, UnicodeDecodeError):
        raise PatchInfoError('%s: truncated or corrupt ELF file' % path) from None
    return None


def read_patch(path):
    try:
        raw = elf_section(path, 'dsu_info')
    except OSError as e:
        raise PatchInfoError('cannot read %s: %s' % (path, e.strerror)) from None
    if raw is None:
        raise PatchInfoError('%s is not a dsu patch (no dsu_info section)' % path)
    try:
        return json.loads(raw.rstrip(b'\0').decode())
    except ValueError:
        raise PatchInfoError('%s: corrupt dsu_info section' % path) from None
