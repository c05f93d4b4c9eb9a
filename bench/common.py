"""Helpers shared by the benchmarks: the machine line, running scons and
dsu, building the example projects both ways, and reading a process's
memory.

A project is built once per work directory and its binaries are kept
aside, so that bench/run.py builds kvd and the pause program once for all
the sections that use them.
"""

import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, 'bench')
CFLAGS = '-O2'


def callgrind(log=None):
    """The command prefix that counts a program's instructions, with
    callgrind's report written to LOG (else to standard error)."""
    return ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null'] + (
        ['--log-file=' + log] if log else [])


def collected(report, what):
    """The instruction count in callgrind's REPORT (its text) of WHAT."""
    m = re.search(r'Collected\s*:\s*(\d+)', report)
    if not m:
        raise RuntimeError('callgrind reported no instruction count for %s' % what)
    return int(m.group(1))


def env():
    e = dict(os.environ)
    e['PYTHONPATH'] = os.pathsep.join(p for p in (ROOT, e.get('PYTHONPATH')) if p)
    return e


def run(args, cwd=None, what=None):
    """Runs ARGS; on failure raises with the tail of its output."""
    p = subprocess.run(args, cwd=cwd, env=env(), capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError('%s failed (exit %d):\n%s%s' % (
            what or ' '.join(args), p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return p.stdout


def scons(cwd, *args):
    return run([sys.executable, '-m', 'SCons', '-Q'] + list(args), cwd=cwd,
               what='scons ' + ' '.join(args))


def dsu(*args, cwd=None):
    return run([sys.executable, '-m', 'dsu_tool'] + list(args), cwd=cwd,
               what='dsu ' + ' '.join(args))


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# -- the machine ---------------------------------------------------------------

def machine():
    cpu = '?'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    gcc = subprocess.run(['gcc', '-dumpfullversion'], capture_output=True,
                         text=True).stdout.strip()
    return {'arch': platform.machine(), 'cpu': cpu, 'cores': os.cpu_count(),
            'gcc': gcc, 'cflags': CFLAGS, 'kernel': platform.release(),
            'date': time.strftime('%Y-%m-%d %H:%M:%S %z')}


def machine_line(m=None):
    m = m or machine()
    return '%s, %s, %d cores, gcc %s %s, %s' % (m['arch'], m['cpu'], m['cores'], m['gcc'],
                                                  m['cflags'], m['date'])


# -- projects ------------------------------------------------------------------

_built = {}


def _copy_tree(src, dst):
    """Copies the files of SRC over DST (the next version's sources)."""
    for dirpath, _, files in os.walk(src):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), src)
            os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
            shutil.copy(os.path.join(dirpath, f), os.path.join(dst, rel))


def build_project(name, versions, program, work):
    """Builds the project whose versions are the directories VERSIONS
    (a list of (name, path)) in WORK/NAME: first the ordinary build of the
    first version, then each version updateable (`scons dsu=1
    version=NAME`), then the patch between each two in a row.

    Returns {'plain': binary, 'v1': binary, ..., 'patches': {'v1-to-v2':
    path}, 'dir': project}.  Binaries are copies, so a later build cannot
    change a running one."""
    key = (name, work)
    if key in _built:
        return _built[key]
    proj = os.path.join(work, name)
    _copy_tree(versions[0][1], proj)
    dsu('init', proj)
    out = {'dir': proj, 'patches': {}}
    scons(proj, '-j2')
    out['plain'] = os.path.join(work, '%s.plain' % program)
    shutil.copy(os.path.join(proj, program), out['plain'])
    prev = None
    for vname, path in versions:
        _copy_tree(path, proj)
        scons(proj, '-j2', 'dsu=1', 'version=' + vname)
        out[vname] = os.path.join(work, '%s.%s' % (program, vname))
        shutil.copy(os.path.join(proj, program), out[vname])
        if prev:
            scons(proj, 'patch', 'from=' + prev, 'to=' + vname)
            out['patches']['%s-to-%s' % (prev, vname)] = os.path.join(
                proj, '%s.%s-to-%s.patch.so' % (program, prev, vname))
        prev = vname
    _built[key] = out
    return out


def build_kvd(work):
    """kvd v1, ordinary ('plain') and updateable ('v1')."""
    return build_project('kvd', [('v1', os.path.join(ROOT, 'examples', 'kvd', 'v1'))],
                         'kvd', work)


PAUSE_VERSIONS = ('v1', 'v2', 'v3')


def build_pause(work):
    """The pause program: ordinary, v1..v3 updateable, patches v1-to-v2
    (function bodies only) and v2-to-v3 (a field added to struct item)."""
    return build_project('pause', [(v, os.path.join(BENCH, 'pause', v)) for v in PAUSE_VERSIONS],
                         'pause', work)


def build_loadgen(work):
    key = ('loadgen', work)
    if key not in _built:
        out = os.path.join(work, 'loadgen')
        run(['gcc', CFLAGS, '-pthread', '-Wall', '-o', out,
             os.path.join(BENCH, 'load', 'loadgen.c')], what='gcc loadgen.c')
        _built[key] = out
    return _built[key]


# -- processes -----------------------------------------------------------------

class Server:
    """kvd started on a free port, behind the command PREFIX if one is
    given (a tool such as valgrind); `port`, `pid`, stop()."""

    _STARTUP = re.compile(r'kvd (\S+) listening on (\d+)')

    def __init__(self, binary, prefix=()):
        self.proc = subprocess.Popen(list(prefix) + [binary, '0'], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        m = self._STARTUP.search(line)
        if not m:
            self.stop()
            raise RuntimeError('kvd did not start: %r' % line)
        self.pid = self.proc.pid
        self.port = int(m.group(2))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def proc_status(pid):
    """Fields of /proc/PID/status in KiB: VmHWM, VmRSS..."""
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            if v.strip().endswith('kB'):
                out[k] = int(v.split()[0])
    return out


def run_alone(name, measure, table, json_path=None):
    """A section run by itself: MEASURE(work) in a scratch directory, then
    its table under the machine line, and the raw results to JSON_PATH."""
    work = tempfile.mkdtemp(prefix='dsu-%s-' % name)
    try:
        res = measure(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(machine_line())
    print(table(res))
    if json_path:
        with open(json_path, 'w') as f:
            json.dump(res, f, indent=1)
    return 0
