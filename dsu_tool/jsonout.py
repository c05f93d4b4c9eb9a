"""The JSON that `dsu apply --json` and `dsu status --json` print.

Fleet tools (an Ansible task, an ssh loop) read it, so it is a stable,
versioned format, built here field by field from the runtime's answer
rather than passed through: a change in the runtime cannot change it
unnoticed.  FORMAT is raised only when a field is removed or changes its
meaning; new fields may be added within a format.

One JSON object on one line on stdout, also when the command fails (the
message then also goes to stderr).  Every field listed is always present;
a field that does not apply is null.

`dsu apply --json`:
    format        1
    command       "apply"
    ok            true when the patch was applied
    code          "applied", "bad-input", "rejected", "timeout" or "error"
    exit_code     the command's exit status (0, 1, 2, 3 or 4)
    reason        why it failed (text), null when applied
    pid           the process
    patch         the patch file, absolute path
    from, to      the versions the patch joined (when applied)
    update_point  "file:line" of the update point it was applied at
    pause_ns      how long the program was paused, in nanoseconds
    prepare_us    how long the process took to load and check the patch
                  before waiting for an update point, in microseconds
    deferred      how many update points were passed because they were unsafe
    summary       what the patch changes (text, one change per line)
    sha256        the sha256 of the patch file the process loaded (hex)
    total_ms      the command's whole time, in milliseconds

`dsu status --json`:
    format        1
    command       "status"
    ok, code      true and "status"; else false and "bad-input" or "error"
    exit_code, reason, pid   as for apply
    program       the program's name
    version       the version it runs now (after patches)
    version_id    that version's content id
    base_version  the version it was started as
    patches       list of {path, sha256, from, to, applied_at (Unix time,
                  seconds), pause_ns, update_point}, oldest first
    types         list of {name, layout, base_layout, changed, steps}:
                  the program's wrapped struct types
    points        list of {file, line, function, restricted}: the update
                  points, with the types a patch may not change there
    pending       true while an update waits for an update point
    deferred, deferred_reason   while pending: points passed, and why
"""

import os

FORMAT = 1

APPLY_FIELDS = ('format', 'command', 'ok', 'code', 'exit_code', 'reason', 'pid', 'patch',
                'from', 'to', 'update_point', 'pause_ns', 'prepare_us', 'deferred',
                'summary', 'sha256', 'total_ms')
STATUS_FIELDS = ('format', 'command', 'ok', 'code', 'exit_code', 'reason', 'pid',
                 'program', 'version', 'version_id', 'base_version', 'patches', 'types',
                 'points', 'pending', 'deferred', 'deferred_reason')
PATCH_FIELDS = ('path', 'sha256', 'from', 'to', 'applied_at', 'pause_ns', 'update_point')
TYPE_FIELDS = ('name', 'layout', 'base_layout', 'changed', 'steps')
POINT_FIELDS = ('file', 'line', 'function', 'restricted')


def _pick(answer, fields):
    return {f: answer.get(f) for f in fields}


def apply_result(answer, pid, patch, exit_code, total_ms):
    out = _pick(answer, APPLY_FIELDS)
    out.update(format=FORMAT, command='apply', ok=bool(answer.get('ok')),
               code=answer.get('code') or ('applied' if answer.get('ok') else 'error'),
               exit_code=exit_code, pid=pid, patch=os.path.abspath(patch),
               total_ms=round(total_ms, 3))
    if out['ok']:
        out['reason'] = None
    return out


def status_result(answer, pid, exit_code):
    out = _pick(answer, STATUS_FIELDS)
    ok = bool(answer.get('ok'))
    out.update(format=FORMAT, command='status', ok=ok,
               code='status' if ok else (answer.get('code') or 'error'),
               exit_code=exit_code, pid=pid, pending=bool(answer.get('pending')),
               reason=None if ok else answer.get('reason'))
    for field, fields in (('patches', PATCH_FIELDS), ('types', TYPE_FIELDS),
                          ('points', POINT_FIELDS)):
        out[field] = [_pick(x, fields) for x in answer.get(field) or []] if ok else None
    return out
