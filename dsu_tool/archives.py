"""The members of a static library (`ar` archive), read without running
`ar`: the link of a program built with `dsu cc` finds there the objects
that the pass compiled (by their content), so that the units of the
project's own libraries belong to the program's version, as they do in
an SCons build."""

import os

_MAGIC, _THIN = b'!<arch>\n', b'!<thin>\n'


def members(path):
    """The contents of each object member of the archive PATH (a thin
    archive's members are read from the files it names); [] when PATH is
    no archive."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError:
        return []
    thin = data.startswith(_THIN)
    if not thin and not data.startswith(_MAGIC):
        return []
    out, names, pos = [], b'', 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].rstrip()
        try:
            size = int(header[48:58])
        except ValueError:
            return out           # not an archive we understand: what was read
        body_at = pos + 60
        stored = not thin or name in (b'/', b'//', b'/SYM64/')
        pos = body_at + (size + (size & 1) if stored else 0)
        if name == b'//':
            names = data[body_at:body_at + size]
            continue
        if name in (b'/', b'/SYM64/', b'__.SYMDEF', b'__.SYMDEF SORTED'):
            continue
        if not thin:
            out.append(data[body_at:body_at + size])
            continue
        if name.startswith(b'/') and name[1:].isdigit():
            start = int(name[1:])
            end = names.find(b'/\n', start)
            name = names[start:end if end >= 0 else len(names)]
        member = os.path.join(os.path.dirname(path), os.fsdecode(name.rstrip(b'/')))
        try:
            with open(member, 'rb') as f:
                out.append(f.read())
        except OSError:
            pass
    return out


def library_paths(argv):
    """The static libraries a link command (ARGV, without the compiler)
    names: as files (libx.a) or as -lNAME found in its -L directories
    (where a shared libNAME.so comes first, as the linker takes it)."""
    dirs, names, out = [], [], []
    args = iter(argv)
    for a in args:
        if a == '-L':
            dirs.append(next(args, ''))
        elif a.startswith('-L'):
            dirs.append(a[2:])
        elif a == '-l':
            names.append(next(args, ''))
        elif a.startswith('-l'):
            names.append(a[2:])
        elif a.endswith('.a') and not a.startswith('-'):
            out.append(a)
    static = '-static' in argv or '-Wl,-Bstatic' in argv
    for name in names:
        for d in dirs:
            if not static and os.path.exists(os.path.join(d, 'lib%s.so' % name)):
                break
            if os.path.exists(os.path.join(d, 'lib%s.a' % name)):
                out.append(os.path.join(d, 'lib%s.a' % name))
                break
    return out
