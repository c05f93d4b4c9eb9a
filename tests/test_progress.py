"""Progress of long work: `scons patch` and the corpus runner say what they
are doing and how far (dsu_tool.progress)."""

import io
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, scons
from dsu_tool.progress import Progress
from test_types import CHAIN_V1, CHAIN_V2, Project


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_one_line_is_rewritten_and_cleared():
    out = _Terminal()
    p = Progress('dsu: patch prog v1 -> v2', stream=out)
    p('loading v1', 0, 3)
    p('loading v1', 3, 3)
    p('linking')
    p.close()
    assert out.getvalue() == (
        '\rdsu: patch prog v1 -> v2: loading v1 (0/3 units)\x1b[K'
        '\rdsu: patch prog v1 -> v2: loading v1 (3/3 units)\x1b[K'
        '\rdsu: patch prog v1 -> v2: linking\x1b[K'
        '\r\x1b[K')
    assert '\n' not in out.getvalue()


def test_in_a_log_a_line_per_stage_and_counts_at_a_modest_rate():
    out = io.StringIO()
    p = Progress('corpus', stream=out, interval=3600)
    for i in range(1000):
        p('checking', i, 1000, 'programs')
    p('summing up')
    p.close()
    assert out.getvalue() == 'corpus: checking (1000 programs)\ncorpus: summing up\n'
    out = io.StringIO()
    p = Progress('corpus', stream=out, interval=0)
    for i in (1, 2, 3):
        p('checking', i, 3, 'programs')
    assert out.getvalue() == ('corpus: checking (3 programs)\n'
                              'corpus: checking (2/3 programs)\n')


def test_quiet_says_nothing():
    out = _Terminal()
    p = Progress('x', stream=out, quiet=True)
    p('loading v1', 1, 2)
    p.close()
    assert out.getvalue() == ''


def test_scons_patch_prints_its_stages_and_s_keeps_it_quiet(tmp_path):
    p = Project(tmp_path / 'proj')
    p.version('v1', CHAIN_V1)
    p.version('v2', CHAIN_V2)
    out = p.patch('v1', 'v2').stdout          # under -Q, as every test's scons
    stages = [line for line in out.splitlines() if line.startswith('dsu: patch prog')]
    assert stages == ['dsu: patch prog v1 -> v2: loading v1 (2 units)',
                      'dsu: patch prog v1 -> v2: loading v2 (2 units)',
                      'dsu: patch prog v1 -> v2: comparing v1 and v2',
                      'dsu: patch prog v1 -> v2: checking the uses of changed types',
                      'dsu: patch prog v1 -> v2: compiling (1 unit)',
                      'dsu: patch prog v1 -> v2: compiling transformers (1 unit)',
                      'dsu: patch prog v1 -> v2: linking'], out
    # stages come before the summary, which is the result
    assert out.index('linking') < out.index('patch prog: v1 -> v2\n')
    quiet = scons(p.root, '-s', 'patch', 'from=v1', 'to=v2').stdout
    assert 'dsu: patch' not in quiet and 'Building patch' not in quiet
    assert 'changed type       struct rec' in quiet


CORPUS = os.path.join(ROOT, 'tests', 'corpus', 'run.py')


def test_corpus_runner_reports_how_far_on_stderr(tmp_path):
    if not shutil.which('apt-get') and not os.environ.get('CI'):
        pytest.skip('the corpus comes from Debian packages; this machine has no apt-get')
    r = subprocess.run([sys.executable, CORPUS, '--sample', '6', '--jobs', '1',
                        '--progress', '0', '--out', str(tmp_path / 'r.json')],
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    lines = r.stderr.splitlines()
    assert lines[0] == 'corpus: checking (6 programs)'
    assert lines[1:] == ['corpus: checking (%d/6 programs)' % i for i in range(2, 6)]
    assert 'corpus:' not in r.stdout                       # the table stays clean
