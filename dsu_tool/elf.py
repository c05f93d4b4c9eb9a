"""Read a section of an ELF file (objects, patches) without loading it."""

import struct


class ElfError(Exception):
    pass


def elf_section(path, wanted):
    """The bytes of section WANTED of the ELF file at PATH, or None."""
    with open(path, 'rb') as f:
        data = f.read()
    if data[:4] != b'\x7fELF':
        raise ElfError('%s is not an ELF file' % path)
    if data[4] != 2 or data[5] != 1:
        raise ElfError('%s: only 64-bit little-endian ELF is supported' % path)
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
        raise ElfError('%s: truncated or corrupt ELF file' % path) from None
    return None


def unsigned_longs(raw):
    return list(struct.unpack('<%dQ' % (len(raw) // 8), raw[:len(raw) // 8 * 8]))
