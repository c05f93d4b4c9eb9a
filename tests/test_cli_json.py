"""`dsu apply --json` and `dsu status --json`: a stable, versioned format
(dsu_tool/jsonout.py) that fleet tools read; and the plain output of
status and check as a shell pipeline or a reviewer meets it."""

import json
import os
import shutil
import subprocess
import sys

from conftest import dsu, scons, tool_env
from dsu_tool import jsonout
from test_scons import STATS_V2, project, write  # noqa: F401 (fixture)

APPLY_KEYS = {'format', 'command', 'ok', 'code', 'exit_code', 'reason', 'pid', 'patch',
              'from', 'to', 'update_point', 'pause_ns', 'prepare_us', 'deferred', 'summary',
              'sha256', 'total_ms'}
STATUS_KEYS = {'format', 'command', 'ok', 'code', 'exit_code', 'reason', 'pid', 'program',
               'version', 'version_id', 'base_version', 'patches', 'types', 'points',
               'pending', 'deferred', 'deferred_reason'}


def _one_json_line(stdout):
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    return json.loads(lines[0])


def _two_versions(project):
    scons(project, 'dsu=1', 'version=v1')
    shutil.copy(os.path.join(project, 'wordsvc'), os.path.join(project, 'wordsvc.v1'))
    write(os.path.join(project, 'src', 'stats.c'), STATS_V2)
    scons(project, 'dsu=1', 'version=v2')
    scons(project, 'patch', 'from=v1', 'to=v2')
    return os.path.join(project, 'wordsvc.v1-to-v2.patch.so')


def test_json_format_of_apply_and_status(project, program):
    patch = _two_versions(project)
    p = program(os.path.join(project, 'wordsvc.v1'))
    assert p.ask('hello') == 'hello: 5 letters, word 1'

    s = _one_json_line(dsu('status', '--json', p.pid).stdout)
    assert set(s) == STATUS_KEYS
    assert s['format'] == 1 and s['command'] == 'status' and s['ok'] is True
    assert (s['code'], s['exit_code'], s['reason'], s['pid']) == ('status', 0, None, p.pid)
    assert (s['program'], s['version'], s['base_version']) == ('wordsvc', 'v1', 'v1')
    assert s['patches'] == [] and s['pending'] is False and s['deferred'] is None
    assert [set(pt) for pt in s['points']] == [set(jsonout.POINT_FIELDS)]
    assert s['points'][0]['file'] == 'src/main.c' and s['points'][0]['function'] == 'main'

    r = dsu('apply', '--json', p.pid, patch)
    assert r.returncode == 0, r.stderr
    a = _one_json_line(r.stdout)
    assert set(a) == APPLY_KEYS
    assert (a['format'], a['command'], a['ok'], a['code'], a['exit_code']) == \
        (1, 'apply', True, 'applied', 0)
    assert (a['from'], a['to'], a['pid'], a['patch'], a['reason']) == \
        ('v1', 'v2', p.pid, os.path.abspath(patch), None)
    assert a['update_point'].startswith('src/main.c:')
    assert isinstance(a['pause_ns'], int) and isinstance(a['total_ms'], float)
    assert 'added function     vowels' in a['summary']
    assert len(a['sha256']) == 64
    assert p.ask('ab') == 'ab: 2 letters, 1 vowels, word 2, total vowels 1001'

    s = _one_json_line(dsu('status', '--json', p.pid).stdout)
    assert set(s) == STATUS_KEYS and s['version'] == 'v2' and s['base_version'] == 'v1'
    assert len(s['patches']) == 1 and set(s['patches'][0]) == set(jsonout.PATCH_FIELDS)
    assert (s['patches'][0]['from'], s['patches'][0]['to']) == ('v1', 'v2')

    # a refusal has the same shape: the same patch again, now on v2
    r = dsu('apply', '--json', p.pid, patch)
    a = _one_json_line(r.stdout)
    assert set(a) == APPLY_KEYS and r.returncode == 3
    assert (a['ok'], a['code'], a['exit_code'], a['from']) == (False, 'rejected', 3, None)
    assert a['reason'] and a['reason'] in r.stderr


def test_json_format_when_there_is_no_such_process(tmp_path):
    pid = 4194304 + 1                      # above any pid_max
    s = _one_json_line(dsu('status', '--json', pid).stdout)
    assert set(s) == STATUS_KEYS
    assert (s['format'], s['ok'], s['code'], s['exit_code'], s['patches']) == \
        (1, False, 'bad-input', 2, None)
    patch = tmp_path / 'p.so'
    patch.write_bytes(b'not a patch')
    r = dsu('apply', '--json', pid, patch)
    a = _one_json_line(r.stdout)
    assert set(a) == APPLY_KEYS and r.returncode == 2
    assert (a['ok'], a['code'], a['exit_code']) == (False, 'bad-input', 2)


def test_status_into_a_closed_pipe_is_quiet(project, program):
    scons(project, 'dsu=1', 'version=v1')
    p = program(os.path.join(project, 'wordsvc'))
    env = tool_env()
    r = subprocess.run('"%s" -m dsu_tool status %d | head -1' % (sys.executable, p.pid),
                       shell=True, capture_output=True, text=True, env=env, timeout=60)
    assert r.stdout.startswith('pid %d: wordsvc v1' % p.pid), r.stdout
    assert r.stderr == '', r.stderr
    # a reader that reads nothing at all
    r = subprocess.run('"%s" -m dsu_tool status --json %d | true' % (sys.executable, p.pid),
                       shell=True, capture_output=True, text=True, env=env, timeout=60)
    assert 'Traceback' not in r.stderr and 'BrokenPipe' not in r.stderr, r.stderr


def test_check_against_another_version_says_it_cannot_apply(project):
    patch = _two_versions(project)
    ok = dsu('check', patch, '--project', project)
    assert ok.returncode == 0 and 'can apply here' in ok.stdout
    r = dsu('check', patch, '--against', 'v2', '--project', project)
    assert r.returncode == 3
    assert 'can apply here' not in r.stdout
    assert 'cannot apply: the patch was built for version v1' in r.stdout
    assert 'a process running v2 refuses it' in r.stdout
