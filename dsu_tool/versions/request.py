"""The checks before a patch is built, the same whichever command asks
for it (`scons patch from=A to=B`, `dsu patch --from A --to B PROGRAM`)."""

from ..frontend.errors import DsuError


def same_version(frm, to, patch_command, record_command):
    """The message for a patch from a version to itself, or None.
    PATCH_COMMAND and RECORD_COMMAND spell the commands of the build
    system at hand, with %(from)s and %(to)s (or NEW) in them."""
    if frm != to:
        return None
    return ('%s: a patch goes from one version to another; record the new sources '
            'first (%s), then %s' % (patch_command % {'from': frm, 'to': to},
                                     record_command % {'to': 'NEW'},
                                     patch_command % {'from': frm, 'to': 'NEW'}))


def check_request(root, program, frm, to):
    """Raise DsuError when no patch of PROGRAM can go from FRM to TO: the
    program FRM cannot load one, or both were recorded from the same
    sources.  Versions not recorded are left to the patch generator,
    which names the known ones."""
    from ..versions.record import recorded_meta
    a, b = (recorded_meta(root, v, program) or {} for v in (frm, to))
    if a.get('unpatchable'):
        raise DsuError('%s %s cannot take a patch: %s' % (program, frm, a['unpatchable']))
    a, b = a.get('id'), b.get('id')
    if a and a == b:
        raise DsuError(
            'versions %s and %s of %s were recorded from identical sources (id %s): '
            'there is nothing to patch' % (frm, to, program, a))
