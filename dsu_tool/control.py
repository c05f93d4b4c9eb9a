"""Client side of the runtime's control protocol.

Every updateable process runs a control thread listening on the abstract
Unix socket "\\0dsu-<pid>".  One connection carries one request line and one
JSON answer line:

    APPLY <timeout_ms> <absolute patch path>\\n
    STATUS\\n

The answer is returned as a dict, whatever it says (``ok`` false included):
the runtime's verdict is data for the caller.  ``ControlError`` is raised
only when no verdict could be had at all.
"""

import json
import os
import socket

# Margin over the update-point timeout for the runtime to check and load
# the patch before it starts waiting, and to answer afterwards.
ANSWER_MARGIN_S = 5.0


class ControlError(Exception):
    """No answer from the process.  ``code`` is 'bad-input' when the pid is
    not an updateable process, 'error' when the conversation failed."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def socket_address(pid):
    return b"\0dsu-%d" % pid


def _exchange(pid, line, wait_s):
    if not isinstance(pid, int) or pid <= 0:
        raise ControlError("bad-input", "invalid pid %r" % (pid,))
    if not os.path.exists("/proc/%d" % pid):
        raise ControlError("bad-input", "no such process: %d" % pid)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(wait_s)
        try:
            sock.connect(socket_address(pid))
        except (ConnectionRefusedError, FileNotFoundError):
            raise ControlError(
                "bad-input",
                "process %d is not an updateable program (no dsu runtime)" % pid,
            ) from None
        try:
            sock.sendall(line + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # it may have answered (refused) before reading: read on
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        raise ControlError(
            "error", "process %d did not answer within %.1f s" % (pid, wait_s)
        ) from None
    except OSError as e:
        raise ControlError("error", "talking to process %d: %s" % (pid, e)) from None
    finally:
        sock.close()
    if not data.endswith(b"\n"):
        raise ControlError(
            "error", "process %d closed the connection without answering" % pid
        )
    try:
        answer = json.loads(data.decode("utf-8"))
    except ValueError as e:
        raise ControlError(
            "error", "process %d answered something that is not JSON: %s" % (pid, e)
        ) from None
    if not isinstance(answer, dict) or "ok" not in answer:
        raise ControlError("error", "process %d answered %r" % (pid, answer))
    return answer


def request_apply(pid, patch_path, timeout_s):
    """Asks process PID to apply the patch at PATCH_PATH at its next update
    point, waiting at most TIMEOUT_S seconds for one.  Returns the runtime's
    answer; its 'code' is 'applied', 'rejected', 'bad-input' or 'timeout'."""
    # bytes: the runtime opens exactly this name, whatever its encoding
    path = os.fsencode(os.path.abspath(patch_path))
    if b"\n" in path or b"\0" in path:
        raise ControlError("bad-input", "the patch path contains a newline or NUL")
    timeout_ms = max(0, int(round(timeout_s * 1000)))
    line = b"APPLY %d %s" % (timeout_ms, path)
    return _exchange(pid, line, timeout_s + ANSWER_MARGIN_S)


def request_status(pid):
    """Returns process PID's version, applied patches and pending state."""
    return _exchange(pid, b"STATUS", ANSWER_MARGIN_S)
