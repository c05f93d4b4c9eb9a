"""What `scons` says when the dsu tool is in the build: its options in
`scons -h`, its own steps shown like every other command (through *COMSTR
variables, quiet under -s), the version name it chose, and usage errors
given as messages before anything is built."""

import os

from conftest import dsu, scons
from test_scons import STATS_V2, project, write  # noqa: F401 (fixture)

OPTIONS = ('dsu=', 'version=', 'from=', 'to=', 'force=', 'full=')


def test_help_lists_every_option_the_tool_reads(project):
    r = scons(project, '-h')
    for option in OPTIONS:
        assert option in r.stdout, option
    # the project's own help and SCons' options are still there
    assert '--help' in r.stdout or 'scons -H' in r.stdout


def test_help_names_every_argument_read_in_the_tool():
    """The help is complete: every ARGUMENTS key the tool's code reads is in it."""
    import re
    from dsu_tool.scons import tool
    with open(tool.__file__) as f:
        code = f.read()
    read = set(re.findall(r"_arguments\(\)\.get\('(\w+)'", code))
    read |= set(re.findall(r"args\.get\('(\w+)'\)", code))
    read |= set(re.findall(r"_flag\('(\w+)'\)", code))
    assert read >= {'dsu', 'version', 'from', 'to', 'force', 'full'}
    for name in read:
        assert '%s=' % name in tool.HELP, name


def _no_python_calls(text):
    assert '_action(' not in text and '_record_version' not in text, text
    assert '(["' not in text, text


def test_build_shows_its_steps_like_commands_and_names_them(project):
    out = scons(project, 'dsu=1', 'version=v1').stdout
    _no_python_calls(out)
    assert 'Recording version v1 of wordsvc' in out
    assert 'Building the dsu runtime' in out
    write(os.path.join(project, 'src', 'stats.c'), STATS_V2)
    scons(project, 'dsu=1', 'version=v2')
    out = scons(project, 'patch', 'from=v1', 'to=v2').stdout
    _no_python_calls(out)
    assert 'Building patch wordsvc.v1-to-v2.patch.so (wordsvc v1 -> v2)' in out
    assert 'added function     vowels' in out          # the summary stays


def test_silent_build_prints_no_steps(project):
    out = scons(project, '-s', 'dsu=1', 'version=v1').stdout
    assert out == '', out


def test_comstr_set_by_the_project_is_kept(project):
    write(os.path.join(project, 'SConstruct'),
          "env = Environment(tools=['default', 'dsu'], CCCOMSTR='CC $TARGET',\n"
          "                  LINKCOMSTR='LINK $TARGET', DSUVERSIONCOMSTR='VER $DSUVERSIONNAME',\n"
          "                  DSURUNTIMECOMSTR='')\n"
          "env.Program('wordsvc', ['src/main.c', 'src/stats.c'])\n")
    out = scons(project, 'dsu=1', 'version=v1').stdout
    lines = out.splitlines()
    assert lines[:-1] == ['CC src/main.o', 'CC src/stats.o', 'VER v1',
                          'CC .dsu/build/wordsvc.version.o', 'LINK wordsvc'], out
    # the build ends with what the version lets a patch change
    assert lines[-1].startswith('dsu: wordsvc v1: ') and \
        lines[-1].endswith('see `dsu report v1`'), out


def test_compiles_are_shown_as_the_compile_the_pass_wraps(project):
    out = scons(project, 'dsu=1', 'version=v1').stdout
    compiles = [line for line in out.splitlines() if ' -c ' in line]
    assert len(compiles) == 3, out
    for line in compiles[:2]:
        assert line.startswith('dsu-cc gcc -o src/') and 'dsu_tool' not in line.split(
            ' -I')[0] and '  ' not in line, line
    assert compiles[2].startswith('gcc -o .dsu/build/wordsvc.version.o'), out


def test_default_version_name_is_printed(project):
    """Without version= (and outside a git checkout) the name is derived
    from the content; the user needs it for `scons patch from=...`."""
    out = scons(project, 'dsu=1').stdout
    listed = dsu('versions', project).stdout.split()[0]
    assert listed.startswith('h')
    assert 'dsu: recorded wordsvc as version %s (no version= given)' % listed in out
    # also under -s: it is a result, not a command
    write(os.path.join(project, 'src', 'stats.c'), STATS_V2)
    out = scons(project, '-s', 'dsu=1').stdout
    names = [line.split()[0] for line in dsu('versions', project).stdout.splitlines()]
    new = [n for n in names if n != listed]
    assert len(new) == 1 and out == 'dsu: recorded wordsvc as version %s (no version= ' \
        'given)\n' % new[0], out


def test_patch_from_a_version_to_itself_is_refused(project):
    scons(project, 'dsu=1', 'version=v1')
    r = scons(project, 'patch', 'from=v1', 'to=v1', check=False)
    assert r.returncode == 2
    assert 'a patch goes from one version to another' in r.stderr
    assert 'Traceback' not in r.stderr and 'File "' not in r.stderr
    assert not os.path.exists(os.path.join(project, 'wordsvc.v1-to-v1.patch.so'))


def test_patch_between_identical_recordings_is_refused(project):
    scons(project, 'dsu=1', 'version=v1')
    scons(project, 'dsu=1', 'version=v1again')
    r = scons(project, 'patch', 'from=v1', 'to=v1again', check=False)
    assert r.returncode != 0
    assert 'versions v1 and v1again of wordsvc were recorded from identical sources' \
        in r.stderr
    assert not os.path.exists(os.path.join(project, 'wordsvc.v1-to-v1again.patch.so'))
