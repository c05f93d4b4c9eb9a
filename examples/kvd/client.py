#!/usr/bin/env python3
"""A tiny client for kvd, for tests and demos.

    from client import Client, wait_for_listen
    proc = subprocess.Popen(['./kvd', '0'], stdout=subprocess.PIPE)
    port = wait_for_listen(proc)
    with Client(port) as c:
        c.request('SET a 1')   # -> 'OK'

As a program:  client.py PORT [REQUEST...]
sends each REQUEST argument (or, with none, each line of stdin) and
prints the replies.
"""

import os
import re
import select
import socket
import sys
import time

_STARTUP = re.compile(r'kvd (\S+) listening on (\d+)$')


class Client:
    """One persistent connection; every request line gets one reply line."""

    def __init__(self, port, host='127.0.0.1', timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self._buf = b''

    def request(self, line):
        """Sends LINE (without newline) and returns the reply line."""
        self.send_raw(line.encode() + b'\n')
        return self.read_line()

    def send_raw(self, data):
        """Sends DATA as is: partial lines, CR LF, several lines at once."""
        self.sock.sendall(data)

    def read_line(self):
        """Returns the next reply line without its newline."""
        while b'\n' not in self._buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError('kvd closed the connection')
            self._buf += chunk
        line, self._buf = self._buf.split(b'\n', 1)
        return line.decode(errors='replace')

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def wait_for_listen(proc, timeout=10.0):
    """Reads kvd's startup line from PROC's stdout (a pipe) and returns the
    port.  The line is read byte by byte from the file descriptor, so
    nothing after it is swallowed and the pipe works in text or binary
    mode."""
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    line = b''
    while not line.endswith(b'\n'):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError('kvd did not print its startup line')
        ch = os.read(fd, 1)
        if not ch:
            raise RuntimeError('kvd exited with %s before listening'
                               % proc.wait())
        line += ch
    m = _STARTUP.match(line.decode().strip())
    if not m:
        raise RuntimeError('unexpected startup line: %r' % line)
    return int(m.group(2))


def main(argv):
    if len(argv) < 2:
        sys.exit('usage: client.py PORT [REQUEST...]')
    with Client(int(argv[1])) as c:
        for line in argv[2:] or (l.rstrip('\n') for l in sys.stdin):
            print(c.request(line), flush=True)


if __name__ == '__main__':
    main(sys.argv)
