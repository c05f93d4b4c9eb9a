"""The external corpus (gcc's torture tests, tests/corpus/run.py) as part
of the test run: every program must pass both ways or be refused with a
diagnostic; none may be miscompiled or crash the pass, and 99% must pass."""

import json
import os
import shutil
import subprocess
import sys

import pytest

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'run.py')


def test_torture_corpus_has_no_miscompiles(tmp_path):
    if not shutil.which('apt-get') and not os.environ.get('CI'):
        pytest.skip('the corpus comes from Debian packages; this machine has no apt-get')
    out = tmp_path / 'results.json'
    sample = os.environ.get('DSU_CORPUS_SAMPLE', '0')
    r = subprocess.run([sys.executable, RUNNER, '--sample', sample, '--out', str(out)],
                       capture_output=True, text=True, timeout=3000)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    counts = json.loads(out.read_text())['counts']
    considered = sum(counts.values()) - counts['excluded']
    assert counts['MISCOMPILED'] == 0 and counts['CRASHED'] == 0
    assert counts['passes both'] >= 0.99 * considered, counts
