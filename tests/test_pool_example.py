"""examples/pool: a TCP server with a pool of worker threads, updated live
under load, back and forth between v1 and v2 (v2 adds a field at the front
of struct account), while clients deposit without pause: every request
gets exactly one reply, and every reply is the right balance."""

import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from conftest import EXAMPLES, copy_tree, dsu, scons
from dsu_tool.adopt import init

CLIENTS = 6
UPDATES = 50


@pytest.fixture(scope='module')
def pool(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('pool'))
    for v in ('v1', 'v2'):
        copy_tree(os.path.join(EXAMPLES, 'pool', v), root)
        if v == 'v1':
            init(root)
        scons(root, 'dsu=1', 'version=' + v)
        shutil.copy(os.path.join(root, 'pool'), os.path.join(root, 'pool.' + v))
    scons(root, 'patch', 'from=v1', 'to=v2')
    scons(root, 'patch', 'from=v2', 'to=v1')
    return root


class Client:
    def __init__(self, port, account):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=20)
        self.file = self.sock.makefile('r')
        self.account = account

    def request(self, line):
        self.sock.sendall((line + '\n').encode())
        return self.file.readline().rstrip('\n')


def _load(port, account, stop, results):
    """Deposits 1 at a time into its own account; each reply must be the
    balance so far."""
    c = Client(port, account)
    n, errors = 0, []
    while not stop.is_set():
        reply = c.request('DEP %d 1' % account)
        n += 1
        if reply != 'OK %d' % n:
            errors.append((n, reply))
            break
    results[account] = (n, errors, c.request('BAL %d' % account))


def test_pool_updated_back_and_forth_under_load(pool):
    proc = subprocess.Popen([os.path.join(pool, 'pool.v1'), '0', '4'],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline().split()[-1])
        stop, results = threading.Event(), {}
        loaders = [threading.Thread(target=_load, args=(port, k, stop, results))
                   for k in range(CLIENTS)]
        for t in loaders:
            t.start()
        time.sleep(0.3)
        pauses, t0 = [], time.monotonic()
        for i in range(UPDATES):
            a, b = ('v1', 'v2') if i % 2 == 0 else ('v2', 'v1')
            r = dsu('apply', proc.pid, os.path.join(pool, 'pool.%s-to-%s.patch.so' % (a, b)),
                    '--timeout', '10', '--json')
            assert r.returncode == 0, (i, r.stdout, r.stderr)
            pauses.append(int(__import__('json').loads(r.stdout)['pause_ns']))
        elapsed = time.monotonic() - t0
        stop.set()
        for t in loaders:
            t.join(30)
        assert len(results) == CLIENTS
        total = 0
        for account, (n, errors, bal) in sorted(results.items()):
            assert not errors, (account, errors)
            assert bal == 'BAL %d %d' % (n, n), (account, n, bal)
            total += n
        check = Client(port, 0)
        assert check.request('VER') == 'v1'       # 50 updates: back at v1
        print('\n%d updates in %.1f s under %d clients: %d requests, pause median %d us, '
              'max %d us' % (UPDATES, elapsed, CLIENTS, total,
                             sorted(pauses)[len(pauses) // 2] // 1000, max(pauses) // 1000))
    finally:
        proc.kill()
        proc.wait()
