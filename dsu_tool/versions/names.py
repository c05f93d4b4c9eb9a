"""Version names: what `version=`, `from=`, `to=` and `dsu check
--against` accept.  A name becomes a directory of the version store, part
of a patch's file name and a string in generated C, so it is checked
before anything is built or written."""

import re

from ..frontend.errors import DsuError

MAX_LENGTH = 64
_NAME = re.compile(r'[A-Za-z0-9_+][A-Za-z0-9._+-]{0,%d}\Z' % (MAX_LENGTH - 1))
ALLOWED = ("1 to %d letters, digits, '.', '_', '-' and '+', not starting with "
           "'.' or '-'" % MAX_LENGTH)


def check_version_name(name, option='version'):
    """Return NAME if it is a valid version name, else raise DsuError
    naming OPTION (as the user wrote it) and the allowed characters."""
    if not _NAME.match(name):
        raise DsuError('%s=%r is not a valid version name: a version name is %s'
                       % (option, name, ALLOWED))
    return name
