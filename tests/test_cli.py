"""The dsu command as users run it: init, demo, info, usage errors."""

import os
import shutil
import subprocess

from conftest import EXAMPLES, ROOT, dsu, scons


def test_demo_runs_live_updates_end_to_end():
    r = dsu('demo', timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert 'v1 -> v2' in r.stdout and 'v2 -> v3' in r.stdout
    assert 'name=alice requests=18' in r.stdout
    assert 'changed type       struct entry' in r.stdout
    assert 'was never restarted' in r.stdout


def test_init_needs_an_scons_project(tmp_path):
    r = dsu('init', tmp_path)
    assert r.returncode == 2 and 'no SConstruct' in r.stderr


def test_init_adds_generated_files_to_gitignore(tmp_path):
    (tmp_path / 'SConstruct').write_text("Environment(tools=['default', 'dsu'])\n")
    subprocess.run(['git', 'init', '-q', str(tmp_path)], check=True)
    assert dsu('init', tmp_path).returncode == 0
    ignored = (tmp_path / '.gitignore').read_text()
    assert '.dsu/' in ignored and '*.patch.so' in ignored


def test_usage_errors_exit_2():
    assert dsu().returncode == 2
    assert dsu('apply').returncode == 2
    assert dsu('apply', 'notapid', 'x.so').returncode == 2
    assert dsu('frobnicate').returncode == 2


def test_info_describes_a_patch_and_refuses_other_files(tmp_path):
    work = tmp_path / 'kvd'
    shutil.copytree(os.path.join(EXAMPLES, 'kvd', 'v1'), work)
    assert dsu('init', work).returncode == 0
    scons(str(work), 'dsu=1', 'version=v1')
    for name in os.listdir(os.path.join(EXAMPLES, 'kvd', 'v2')):
        shutil.copy(os.path.join(EXAMPLES, 'kvd', 'v2', name), work / name)
    scons(str(work), 'dsu=1', 'version=v2')
    scons(str(work), 'patch', 'from=v1', 'to=v2')
    info = dsu('info', work / 'kvd.v1-to-v2.patch.so')
    assert info.returncode == 0
    assert 'from v1' in info.stdout and 'to v2' in info.stdout
    assert 'changed signature  store_del' in info.stdout
    bad = dsu('info', work / 'kvd')
    assert bad.returncode == 2 and 'not a dsu patch' in bad.stderr
    versions = dsu('versions', work).stdout
    assert 'v1' in versions and 'v2' in versions


def test_top_level_sconstruct_builds_the_examples(tmp_path):
    work = tmp_path / 'repo'
    work.mkdir()
    for name in ('SConstruct', 'site_scons', 'examples'):
        src = os.path.join(ROOT, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, work / name)
    scons(str(work), '-j2')
    scons(str(work), '-j2', 'dsu=1', 'version=t1')
    built = [work / 'examples' / 'kvd' / v / 'kvd' for v in ('v1', 'v2', 'v3')]
    built += [work / 'examples' / 'layout' / v / 'build' / 'layout' for v in ('v1', 'v2')]
    for binary in built:
        out = subprocess.run(['nm', str(binary)], capture_output=True, text=True).stdout
        assert '__dsu_slot_main' in out, binary
