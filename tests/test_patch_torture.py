"""Patch torture (tests/corpus/patch_torture.py) as part of the test run:
corpus programs replaced in full by a live patch at the start of main
must behave as the ordinary build, or be refused with a reason.  No
patch C rejected by gcc, no target that differs, no tool crash.

It runs a fixed sample (every k-th program) to fit the CI budget;
DSU_PATCH_TORTURE_SAMPLE=N changes its size, 0 runs the whole corpus.
A smaller sample then goes through again with each patch cut into files
(DSU_PATCH_TORTURE_PARTS_SAMPLE=N)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus',
                      'patch_torture.py')
SAMPLE = '600'
PARTS_SAMPLE = '150'


def test_full_patches_of_the_corpus_apply_and_behave(tmp_path):
    _torture(tmp_path, os.environ.get('DSU_PATCH_TORTURE_SAMPLE', SAMPLE))


def test_patches_cut_into_files_apply_and_behave(tmp_path):
    """The same with each patch written as up to three files compiled side
    by side, cut as finely as its functions allow (patchgen.build does so
    with a large unit): calls between the files, a definition made in one
    and used in another, each file's own tables."""
    _torture(tmp_path, os.environ.get('DSU_PATCH_TORTURE_PARTS_SAMPLE', PARTS_SAMPLE),
             '--parts', '3')


def _torture(tmp_path, sample, *args):
    if not shutil.which('apt-get') and not os.environ.get('CI'):
        pytest.skip('the corpus comes from Debian packages; this machine has no apt-get')
    out = tmp_path / 'results.json'
    r = subprocess.run([sys.executable, RUNNER, '--sample', sample, '--out', str(out)]
                       + list(args), capture_output=True, text=True, timeout=3600)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    counts = json.loads(out.read_text())['counts']
    assert counts['PATCH C REJECTED'] == counts['TARGET DIFFERS'] == 0, counts
    assert counts['TOOL CRASHED'] == 0, counts
    # nearly every program the tier can test is patched, not refused
    considered = sum(counts.values()) - counts['excluded']
    assert counts['applies, same'] >= 0.95 * considered, counts
