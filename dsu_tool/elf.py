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


def undefined_symbols(path, prefix):
    """The names starting with PREFIX that the object at PATH uses without
    defining them (its symbol table's undefined entries)."""
    with open(path, 'rb') as f:
        data = f.read()
    if data[:4] != b'\x7fELF':
        raise ElfError('%s is not an ELF file' % path)
    if data[4] != 2 or data[5] != 1:
        raise ElfError('%s: only 64-bit little-endian ELF is supported' % path)
    want = prefix.encode()
    found = set()
    try:
        shoff, = struct.unpack_from('<Q', data, 0x28)
        shentsize, shnum = struct.unpack_from('<HH', data, 0x3A)

        def header(i):
            return struct.unpack_from('<IIQQQQII', data, shoff + i * shentsize)
        for i in range(shnum):
            _, kind, _, _, offset, size, link, _ = header(i)
            if kind != 2:                       # SHT_SYMTAB
                continue
            str_off = header(link)[4]
            for at in range(offset, offset + size, 24):
                name, _info, _other, shndx = struct.unpack_from('<IBBH', data, at)
                if shndx != 0 or name == 0:     # defined, or the null symbol
                    continue
                end = data.index(b'\0', str_off + name)
                text = data[str_off + name:end]
                if text.startswith(want):
                    found.add(text.decode())
    except (struct.error, ValueError, UnicodeDecodeError):
        raise ElfError('%s: truncated or corrupt ELF file' % path) from None
    return sorted(found)
