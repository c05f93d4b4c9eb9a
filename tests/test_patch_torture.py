"""Patch torture (tests/corpus/patch_torture.py) as part of the test run:
corpus programs replaced in full by a live patch at the start of main
must behave as the ordinary build, or be refused with a reason.  No
patch C rejected by gcc, no target that differs, no tool crash.

It runs a fixed sample (every k-th program) to fit the CI budget;
DSU_PATCH_TORTURE_SAMPLE=N changes its size, 0 runs the whole corpus."""

import json
import os
import shutil
import subprocess
import sys

import pytest

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus',
                      'patch_torture.py')
SAMPLE = '600'


def test_full_patches_of_the_corpus_apply_and_behave(tmp_path):
    if not shutil.which('apt-get') and not os.environ.get('CI'):
        pytest.skip('the corpus comes from Debian packages; this machine has no apt-get')
    out = tmp_path / 'results.json'
    sample = os.environ.get('DSU_PATCH_TORTURE_SAMPLE', SAMPLE)
    r = subprocess.run([sys.executable, RUNNER, '--sample', sample, '--out', str(out)],
                       capture_output=True, text=True, timeout=3600)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    counts = json.loads(out.read_text())['counts']
    assert counts['PATCH C REJECTED'] == counts['TARGET DIFFERS'] == 0, counts
    assert counts['TOOL CRASHED'] == 0, counts
    # nearly every program the tier can test is patched, not refused
    considered = sum(counts.values()) - counts['excluded']
    assert counts['applies, same'] >= 0.95 * considered, counts
