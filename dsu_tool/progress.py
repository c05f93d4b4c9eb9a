"""What a long piece of work is doing and how far, in the style of the build.

On a terminal it is one line, rewritten in place and cleared at the end,
so the build's own output stays as it was.  Elsewhere (a CI log, a pipe)
each stage gets a line of its own, and a long counted stage a line with
its count at most every INTERVAL seconds: a log shows where the time went
without a line per unit.  QUIET (SCons' -s) prints nothing.
"""

import sys
import time


class Progress:
    """PREFIX names the work: "dsu: patch prog v1 -> v2"."""

    def __init__(self, prefix, stream=None, quiet=False, interval=2.0, tty=None):
        self.prefix = prefix
        self.stream = stream if stream is not None else sys.stdout
        self.quiet = quiet
        self.interval = interval
        if tty is None:
            isatty = getattr(self.stream, 'isatty', None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self.what = None
        self.last = 0.0          # when the last line was written
        self.shown = False       # a terminal line is on screen

    def __call__(self, what, done=None, total=None, noun='units'):
        """Stage WHAT, DONE of TOTAL NOUN finished (or no count)."""
        if self.quiet:
            return
        if total == 1 and noun.endswith('s'):
            noun = noun[:-1]
        now = time.monotonic()
        new_stage = what != self.what
        self.what = what
        if total is None:
            text = '%s: %s' % (self.prefix, what)
        elif new_stage and not self.tty:
            text = '%s: %s (%d %s)' % (self.prefix, what, total, noun)
        else:
            text = '%s: %s (%d/%d %s)' % (self.prefix, what, done, total, noun)
        if self.tty:
            # a terminal takes a few redraws a second; more only costs time
            if new_stage or now - self.last >= 0.1 or done == total:
                self.stream.write('\r%s\x1b[K' % text)
                self.stream.flush()
                self.last, self.shown = now, True
        elif new_stage or (now - self.last >= self.interval and done != total):
            self.stream.write(text + '\n')
            self.stream.flush()
            self.last = now

    def close(self):
        """The work is over: a terminal line goes away."""
        if self.shown:
            self.stream.write('\r\x1b[K')
            self.stream.flush()
            self.shown = False
        self.what = None


def no_progress(what, done=None, total=None, noun='units'):
    """The progress of work nobody watches."""
