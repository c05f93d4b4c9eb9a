"""The dsu command as users run it: init, demo, info, usage errors."""

import os
import shutil
import subprocess
import sys

from conftest import EXAMPLES, ROOT, TOOL_PARENT, dsu, scons, tool_env


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
    r = dsu('patch', '--from', 'a', '--to', 'b', 'prog', '-j', '0')
    assert r.returncode == 2 and 'not a number of jobs' in r.stderr, r.stderr


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
    built += [work / 'examples' / 'pool' / v / 'pool' for v in ('v1', 'v2')]
    for binary in built:
        out = subprocess.run(['nm', str(binary)], capture_output=True, text=True).stdout
        assert '__dsu_slot_main' in out, binary


def test_init_shim_holds_no_path_of_this_machine(tmp_path):
    (tmp_path / 'SConstruct').write_text("Environment(tools=['default', 'dsu'])\n")
    assert dsu('init', tmp_path).returncode == 0
    shim = (tmp_path / 'site_scons' / 'site_tools' / 'dsu' / '__init__.py').read_text()
    assert TOOL_PARENT not in shim and sys.prefix not in shim and ROOT not in shim


# SCons run as by a Python into which dsu is not installed, even where the
# tests' own Python has it (CI installs it): dsu_tool is importable only
# from a directory put on sys.path after start-up, as the shim does.
_SCONS_WITHOUT_DSU = r"""
import importlib.machinery, sys
_at_start = list(sys.path)
class _NotInstalled:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != 'dsu_tool':
            return None
        # what was put on sys.path since start-up, also a directory that
        # was there already (where the installed package itself lives)
        added = [p for p in dict.fromkeys(sys.path)
                 if sys.path.count(p) > _at_start.count(p)]
        spec = importlib.machinery.PathFinder.find_spec(name, added)
        if spec is None:
            raise ModuleNotFoundError("No module named 'dsu_tool'", name=name)
        return spec
sys.meta_path.insert(0, _NotInstalled)
sys.argv = ['scons', '-Q']
import SCons.Script
SCons.Script.main()
"""


def _scons_without_dsu_on_path(project, path_dirs=(), **env):
    """SCons run by a Python that cannot import dsu_tool by itself."""
    run_env = {k: v for k, v in tool_env().items() if k != 'PYTHONPATH'}
    run_env['PATH'] = os.pathsep.join(list(path_dirs) + ['/usr/bin', '/bin'])
    run_env.update(env)
    return subprocess.run([sys.executable, '-c', _SCONS_WITHOUT_DSU], cwd=project,
                          capture_output=True, text=True, env=run_env, timeout=300)


def test_init_shim_finds_the_tool_in_another_clone(tmp_path):
    """The shim works in a clone made elsewhere, where dsu is found through
    the `dsu` command on PATH or $DSU_TOOL_PATH; without either it says
    what to do."""
    first = tmp_path / 'first'
    first.mkdir()
    (first / 'SConstruct').write_text(
        "env = Environment(tools=['default', 'dsu'])\nenv.Program('hi', 'hi.c')\n")
    (first / 'hi.c').write_text('#include <dsu.h>\nint main(void) { DSU_update(); '
                                'return 0; }\n')
    assert dsu('init', first).returncode == 0
    clone = tmp_path / 'clone'
    shutil.copytree(first, clone)
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'dsu').write_text('#!/bin/sh\nPYTHONPATH=%s exec %s -m dsu_tool "$@"\n'
                                 % (TOOL_PARENT, sys.executable))
    (bin_dir / 'dsu').chmod(0o755)
    r = _scons_without_dsu_on_path(str(clone), [str(bin_dir)])
    assert r.returncode == 0, r.stderr
    assert (clone / 'hi').exists()
    os.remove(clone / 'hi')
    r = _scons_without_dsu_on_path(str(clone), DSU_TOOL_PATH=TOOL_PARENT)
    assert r.returncode == 0, r.stderr
    r = _scons_without_dsu_on_path(str(clone))
    assert r.returncode != 0
    assert 'the dsu SCons tool needs the dsu_tool package' in r.stderr
    assert 'DSU_TOOL_PATH' in r.stderr


def test_tool_path_is_where_dsu_tool_is():
    """It names the directory of the dsu_tool that the command itself runs
    (run from a source tree, that tree's; installed, site-packages)."""
    r = dsu('--tool-path')
    assert r.returncode == 0, r.stderr
    where = subprocess.run(
        [sys.executable, '-c', 'import os, dsu_tool; '
         'print(os.path.dirname(os.path.dirname(os.path.abspath(dsu_tool.__file__))))'],
        capture_output=True, text=True, env=tool_env(), check=True)
    assert r.stdout.strip() == where.stdout.strip()
    assert os.path.isfile(os.path.join(r.stdout.strip(), 'dsu_tool', '__init__.py'))


def test_init_writes_the_commit_policy_into_gitignore(tmp_path):
    """layouts.json and fixed.json are committed, the rest of .dsu/ and built patches are
    not; an older `.dsu/` line (which hid layouts.json) is replaced, the
    project's own lines stay, and a second init adds nothing."""
    (tmp_path / 'SConstruct').write_text("Environment(tools=['default', 'dsu'])\n")
    (tmp_path / '.gitignore').write_text('build/\n.dsu/\n*.o')
    subprocess.run(['git', 'init', '-q', str(tmp_path)], check=True)
    assert dsu('init', tmp_path).returncode == 0
    once = (tmp_path / '.gitignore').read_text()
    assert once.splitlines()[:2] == ['build/', '*.o']
    assert '.dsu/' not in once.splitlines()
    assert dsu('init', tmp_path).returncode == 0
    assert (tmp_path / '.gitignore').read_text() == once
    for name in ('.dsu/layouts.json', '.dsu/fixed.json', '.dsu/versions/v1/p/version.json',
                 '.dsu/cache/x.c',
                 '.dsu/gen/a.o.dsu.c', '.dsu/build/libdsurt.a', 'p.v1-to-v2.patch.so',
                 'dsu/v1-to-v2.xf.c', '.dsu/layouts.json.lock'):
        os.makedirs(os.path.dirname(str(tmp_path / name)), exist_ok=True)
        (tmp_path / name).write_text('x')
    listed = subprocess.run(['git', 'status', '--porcelain', '-uall'], cwd=str(tmp_path),
                            capture_output=True, text=True, check=True).stdout
    tracked = sorted(line[3:] for line in listed.splitlines())
    assert tracked == ['.dsu/fixed.json', '.dsu/layouts.json', '.gitignore', 'SConstruct',
                       'dsu/v1-to-v2.xf.c', 'site_scons/site_tools/dsu/__init__.py']


def test_init_over_an_older_policy_adds_fixed_json_once(tmp_path):
    """A project set up before fixed.json existed: its .dsu/* line would
    hide the file, which every later build needs as layouts.json."""
    (tmp_path / 'SConstruct').write_text("Environment(tools=['default', 'dsu'])\n")
    (tmp_path / '.gitignore').write_text(
        '# dsu: commit .dsu/layouts.json and dsu/*.xf.c; the rest of .dsu/ is generated\n'
        '.dsu/*\n!.dsu/layouts.json\n*.patch.so\n')
    assert dsu('init', tmp_path).returncode == 0
    lines = (tmp_path / '.gitignore').read_text().splitlines()
    assert lines.count('!.dsu/fixed.json') == 1 and lines.count('.dsu/*') == 1
    assert [line for line in lines if line.startswith('#')] == [
        '# dsu: commit .dsu/layouts.json, .dsu/fixed.json and dsu/*.xf.c; the rest of '
        '.dsu/ is generated']


def test_init_writes_gitignore_outside_git_too(tmp_path):
    (tmp_path / 'SConstruct').write_text("Environment(tools=['default', 'dsu'])\n")
    r = dsu('init', tmp_path)
    assert r.returncode == 0 and 'added to .gitignore' in r.stdout
    assert '!.dsu/layouts.json' in (tmp_path / '.gitignore').read_text()


def test_versions_drop_lets_a_name_be_recorded_again(tmp_path):
    """A version recorded, then the sources fixed after a failed patch:
    `dsu versions --drop` removes the record, and the name can be recorded
    again, also from sources identical to the dropped ones."""
    work = tmp_path / 'kvd'
    shutil.copytree(os.path.join(EXAMPLES, 'kvd', 'v1'), work)
    assert dsu('init', work).returncode == 0
    scons(str(work), 'dsu=1', 'version=v1')
    with open(work / 'store.c', 'a') as f:
        f.write('\nint store_fixed_later;\n')
    r = scons(str(work), 'dsu=1', 'version=v1', check=False)
    assert r.returncode != 0 and '`dsu versions --drop v1`' in r.stderr
    r = dsu('versions', work, '--drop', 'v1')
    assert r.returncode == 0 and r.stdout == 'dropped version v1 (kvd)\n'
    assert 'no versions recorded' in dsu('versions', work).stdout
    scons(str(work), 'dsu=1', 'version=v1')
    first_id = dsu('versions', work).stdout.split()[3]
    # dropped and rebuilt from unchanged sources: recorded again
    assert dsu('versions', work, '--drop', 'v1').returncode == 0
    scons(str(work), 'dsu=1', 'version=v1')
    assert dsu('versions', work).stdout.split()[:4] == ['v1', 'kvd', 'id', first_id]
    r = dsu('versions', work, '--drop', 'v9')
    assert r.returncode == 2 and "no version 'v9' is recorded" in r.stderr
    r = dsu('versions', work, '--drop', '../x')
    assert r.returncode == 2 and 'not a valid version name' in r.stderr
