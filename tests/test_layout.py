"""A project shaped like real ones (examples/layout): several directories
with the same file names, a VariantDir, the program's own static library
with per-object flags, a generated header, parallel builds."""

import os
import shutil

from conftest import EXAMPLES, dsu, scons


def test_real_project_shape_builds_and_updates_live(tmp_path, program):
    root = str(tmp_path / 'layout')
    shutil.copytree(os.path.join(EXAMPLES, 'layout', 'v1'), root)
    assert dsu('init', root).returncode == 0
    scons(root, '-j2', 'dsu=1', 'version=v1')
    shutil.copy(os.path.join(root, 'build', 'layout'), os.path.join(root, 'layout.v1'))
    with open(os.path.join(root, '.dsu', 'versions', 'v1', 'build', 'layout',
                           'version.json')) as f:
        units = f.read()
    for unit in ('src__main.c', 'src__net__util.c', 'src__core__util.c', 'src__core__table.c'):
        assert unit in units                     # the static library's units too
    p = program(os.path.join(root, 'layout.v1'))
    assert p.ask('ann') == 'layout v1: hello ann; seen 1 time(s), 1 word(s)'
    assert p.ask('root') == 'layout v1: hello root (admin?); seen 1 time(s), 2 word(s)'

    shutil.rmtree(os.path.join(root, 'src'))
    shutil.copytree(os.path.join(EXAMPLES, 'layout', 'v2', 'src'), os.path.join(root, 'src'))
    scons(root, '-j2', 'dsu=1', 'version=v2')
    out = scons(root, 'patch', 'from=v1', 'to=v2').stdout
    assert 'changed function   same (src/core/util.c:' in out      # the library's
    assert 'changed function   net_greeting (src/net/util.c:' in out
    assert out.count('changed function') == 2       # net's own `same` is untouched
    r = dsu('apply', p.pid, os.path.join(root, 'build', 'layout.v1-to-v2.patch.so'))
    assert r.returncode == 0, r.stderr
    # the library's new same() matches regardless of case; the banner is v2's
    assert p.ask('ANN') == 'layout v2: welcome, ANN; seen 2 time(s), 2 word(s)'
    assert p.ask('rob') == 'layout v2: welcome, rob (admin?); seen 1 time(s), 3 word(s)'


def test_header_edit_rebuilds_only_its_users(tmp_path):
    root = str(tmp_path / 'layout')
    shutil.copytree(os.path.join(EXAMPLES, 'layout', 'v1'), root)
    assert dsu('init', root).returncode == 0
    scons(root, '-j2', 'dsu=1', 'version=a')
    with open(os.path.join(root, 'src', 'core', 'table.h'), 'a') as f:
        f.write('/* touched */\n')
    out = scons(root, '-j2', 'dsu=1', 'version=b').stdout
    compiled = [line for line in out.splitlines() if line.startswith('dsu-cc ')]
    assert any('src/main.c' in c for c in compiled)
    assert any('src/core/table.c' in c for c in compiled)
    assert not any('src/net/util.c' in c or 'src/core/util.c' in c for c in compiled)
