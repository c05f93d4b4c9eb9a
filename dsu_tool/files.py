"""Writes that later builds depend on.

A build can be interrupted at any moment (Ctrl-C, a full disk, a killed
job).  A file that a later build reads (a cache entry, a manifest, the
kept struct layouts) is therefore written to a temporary file beside it
and renamed over it: readers see the old content or the new, never a
truncated one.
"""

import os
import tempfile

# mkstemp creates files readable by their owner only; the files written
# here get the permissions an ordinary open() would give them.
_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path, text, encoding='utf-8'):
    """Replace PATH with TEXT (bytes when ENCODING is None) in one rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp',
                               dir=directory)
    try:
        with os.fdopen(fd, 'wb' if encoding is None else 'w', encoding=encoding) as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def write_if_changed(path, text, encoding='latin-1'):
    """Keep builds incremental: an unchanged file keeps its timestamp."""
    try:
        with open(path, encoding=encoding) as f:
            if f.read() == text:
                return
    except (OSError, UnicodeDecodeError):
        pass
    write_atomic(path, text, encoding)
