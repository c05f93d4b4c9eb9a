"""`dsu apply --tree PID PATCH`: update a forking server and its live children.

A process that forks keeps its runtime in every child: each child has a
control channel of its own and is updated at its own update points.  The
tree is the process and every live descendant running the same program
(the same executable); each gets its own request, all at once, each with
the full timeout, and each outcome is reported.  A child that never
reaches an update point is reported with its timeout, not waited for
longer.  Children forked while the others were being updated were copied
either before their parent's update (they run the old version: they get
a request too, in a further round) or after it (they run the new version
already: reported as such).  Rounds repeat until no new child appears.
"""

import os
import threading
import time

from .control import ControlError, request_apply, request_status

MAX_ROUNDS = 5


def _children():
    """{parent pid: [child pids]} of every process /proc shows."""
    kids = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as f:
                stat = f.read()
        except OSError:
            continue            # gone meanwhile
        fields = stat[stat.rfind(')') + 2:].split()
        if len(fields) > 1:
            kids.setdefault(int(fields[1]), []).append(int(name))
    return kids


def _exe(pid):
    try:
        return os.readlink('/proc/%d/exe' % pid)
    except OSError:
        return None


def tree(pid):
    """PID and its live descendants that run the same executable, parents
    before children."""
    exe, kids = _exe(pid), _children()
    order, todo = [], [pid]
    while todo:
        p = todo.pop(0)
        if p == pid or (exe is not None and _exe(p) == exe):
            order.append(p)
        todo.extend(sorted(kids.get(p, ())))
    return order


def _apply_one(pid, patch, timeout, results):
    start = time.monotonic()
    try:
        answer = request_apply(pid, patch, timeout)
    except ControlError as e:
        answer = {'ok': False, 'code': e.code, 'reason': e.message}
    results[pid] = (answer, (time.monotonic() - start) * 1000.0)


def apply_tree(pid, patch, timeout):
    """[(pid, answer, total_ms)] for PID and its tree, in tree order.  An
    answer with 'current': True is a process that already ran the version
    the patch makes (forked after its parent's update)."""
    results, target = {}, None
    for _ in range(MAX_ROUNDS):
        new = [p for p in tree(pid) if p not in results]
        if not new:
            break
        todo = []
        for p in new:
            if target is not None and p != pid:
                try:
                    status = request_status(p)
                except ControlError:
                    status = {}
                if status.get('version') == target:
                    results[p] = ({'ok': True, 'code': 'applied', 'current': True,
                                   'to': target}, 0.0)
                    continue
            todo.append(p)
        workers = [threading.Thread(target=_apply_one, args=(p, patch, timeout, results))
                   for p in todo]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        for p in todo:
            if results[p][0].get('ok'):
                target = results[p][0].get('to')
    return [(p, ) + results[p] for p in tree_order(pid, results)]


def tree_order(pid, results):
    """The processes of RESULTS, PID first, the others by pid."""
    return [pid] + sorted(p for p in results if p != pid)
