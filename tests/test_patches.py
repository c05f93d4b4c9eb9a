"""Live patches, one small program per kind of change (tests/programs/).

All cases are built together in one SCons project, as a developer would:
`scons dsu=1 version=v1`, edit the sources into v2, `scons dsu=1
version=v2`, `scons patch from=v1 to=v2`.  Each test then starts the v1
binary, talks to it, applies the patch with `dsu apply`, and checks the
answers: the new code runs and the old state is still there.

Each case is then done again with the same patch cut into files compiled
side by side (what a large unit's patch is on a machine with several
processors, patchgen.build), cut as finely as it goes: up to three
files, a function in each, so that calls from one file to a body in
another, a definition one file makes and another uses, and each file's
own tables are all on the path.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import PROGRAMS, copy_tree, dsu, scons
from dsu_tool.adopt import init
from dsu_tool.patchgen import build_patch

CASES = sorted(d for d in os.listdir(PROGRAMS)
               if os.path.isdir(os.path.join(PROGRAMS, d)))

SCONSTRUCT = '''
env = Environment(tools=['default', 'dsu'])
env.Append(CFLAGS=['-O2', '-Wall', '-Werror'])
for case in %r:
    env.Program(case + '/prog', Glob(case + '/*.c'))
'''


class Suite:
    def __init__(self, root, patch_output):
        self.root = str(root)
        self.patch_output = patch_output

    def binary(self, case):
        return os.path.join(self.root, case, 'prog.v1')

    def patch(self, case):
        return os.path.join(self.root, case, 'prog.v1-to-v2.patch.so')

    def parts_patch(self, case):
        return os.path.join(self.root, case, 'prog.v1-to-v2.parts.patch.so')


def _install_version(root, version):
    for case in CASES:
        dst = os.path.join(root, case)
        os.makedirs(dst, exist_ok=True)
        for name in os.listdir(dst):
            if name.endswith('.c'):
                os.remove(os.path.join(dst, name))
        shutil.copy(os.path.join(PROGRAMS, 'driver.c'), dst)
        copy_tree(os.path.join(PROGRAMS, case, version), dst)


@pytest.fixture(scope='session')
def suite(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('suite'))
    with open(os.path.join(root, 'SConstruct'), 'w') as f:
        f.write(SCONSTRUCT % CASES)
    init(root)
    _install_version(root, 'v1')
    scons(root, '-j2', 'dsu=1', 'version=v1')
    for case in CASES:
        shutil.copy(os.path.join(root, case, 'prog'), os.path.join(root, case, 'prog.v1'))
    _install_version(root, 'v2')
    scons(root, '-j2', 'dsu=1', 'version=v2')
    proc = scons(root, '-j2', 'patch', 'from=v1', 'to=v2')
    suite = Suite(root, proc.stdout)
    cut = 0
    for case in CASES:
        work = os.path.join(root, '.dsu', 'patches', case, 'prog', 'v1-to-v2')
        build_patch(root, case + '/prog', 'v1', 'v2', suite.parts_patch(case), jobs=3,
                    part_size=1)
        # each unit with two functions or more in the patch is in several files
        files = {}
        for name in os.listdir(work):
            if name.endswith('.c') and name[0].isdigit():
                with open(os.path.join(work, name)) as f:
                    bodies = len(_BODY.findall(f.read()))
                files.setdefault(name.split('.')[0], []).append(bodies)
        for unit, counts in files.items():
            assert len(counts) == min(3, sum(counts)), (case, unit, counts)
            assert all(counts), (case, unit, counts)
            cut += len(counts) > 1
    assert cut >= 15, cut
    return suite


_BODY = re.compile(r'^[^\s#].*\b__dsu_pbody_\w+\(.*\)$', re.M)


def update(suite, case, before, after, program):
    """Ask BEFORE, apply the patch, ask AFTER; compare every answer.  The
    same again in another process with the patch cut into files."""
    for patch in (suite.patch(case), suite.parts_patch(case)):
        p = program(suite.binary(case))
        for question, answer in before:
            assert p.ask(question) == answer, patch
        r = dsu('apply', p.pid, patch, '--timeout', '10')
        assert r.returncode == 0, r.stdout + r.stderr
        assert 'v1 -> v2' in r.stdout
        for question, answer in after:
            assert p.ask(question) == answer, patch


def test_patch_from_kept_units_is_the_same(suite):
    """The second `scons patch` reads what the first made of each unit
    (.dsu/cache, patchgen.load) and runs no pass again: every case's
    patch and the summary are the same, byte for byte."""
    first = {case: open(suite.patch(case), 'rb').read() for case in CASES}
    assert any(f.endswith('.unit') for f in os.listdir(os.path.join(suite.root, '.dsu',
                                                                     'cache')))
    proc = scons(suite.root, '-j2', 'patch', 'from=v1', 'to=v2')

    def summaries(out):       # without the progress lines, in any job order
        return sorted(line for line in out.splitlines()
                      if 'dsu: patch' not in line and 'v1 -> v2: ' not in line)
    assert summaries(proc.stdout) == summaries(suite.patch_output)
    for case in CASES:
        assert open(suite.patch(case), 'rb').read() == first[case], case


def test_no_text_relocations(suite):
    """A slot or table in read-only code would fault when written: every
    updateable binary and every patch is linked with -z text."""
    for case in CASES:
        for path in (suite.binary(case), suite.patch(case)):
            dynamic = subprocess.run(['readelf', '-d', path], capture_output=True,
                                     text=True, check=True).stdout
            assert 'TEXTREL' not in dynamic, path


def test_changed_function(suite, program):
    update(suite, 'changed', [('a', 'a answer=1 count=1'), ('b', 'b answer=1 count=2')],
           [('c', 'c answer=2 count=3')], program)
    # handle() calls answer() without a slot (same unit): it comes along
    assert 'rebound function   handle' in suite.patch_output
    assert 'calls answer directly' in suite.patch_output


def test_added_function_and_global(suite, program):
    # `scale` starts at 3, as initialised in the new source
    update(suite, 'added', [('a', 'a answer=1 count=1')],
           [('b', 'b answer=1 count=2 scaled=6')], program)
    assert 'added global       scale' in suite.patch_output
    assert 'added function     scaled' in suite.patch_output


def test_function_with_inline_asm(suite, program):
    update(suite, 'inline_asm', [('a', 'a answer=1 count=1')],
           [('b', 'b answer=2 count=2')], program)
    assert 'changed function   answer' in suite.patch_output


def test_struct_defined_in_a_pointer_typedef(suite, program):
    # `typedef struct node {...} *node_p;`: the patch wraps struct node
    # as the program does, so the list built before the update reads right
    update(suite, 'typedef_pointer', [('a', 'a top=1'), ('b', 'b top=2')],
           [('c', 'c top=3 next=2')], program)


def test_array_sized_by_its_initializer(suite, program):
    # `sizeof hits` in the patch needs the length `{0, 0, 0}` gives it
    update(suite, 'array_length', [('a', 'a first=1 odd=0'), ('b', 'b first=1 odd=1'),
                                   ('c', 'c first=1 odd=1')],
           [('d', 'd first=2 odd=2 slots=3')], program)


def test_call_to_a_builtin_named_function_folds_as_in_the_program(suite, program):
    update(suite, 'builtin_named', [('a', 'a abs=3 calls=0')],
           [('b', 'b abs=3 calls=0 v2')], program)


def test_unit_with_pragmas(suite, program):
    update(suite, 'pragma', [('a', 'a count=1')], [('b', 'b count=2 v2')], program)


def test_arrow_on_an_array_of_a_wrapped_struct(suite, program):
    update(suite, 'array_arrow', [('a', 'a count=1')], [('b', 'b count=2 v2')], program)


def test_block_scope_extern_under_a_local_of_the_same_name(suite, program):
    update(suite, 'block_extern', [('a', 'a level=4')], [('b', 'b level=5 v2')], program)


def test_address_of_a_function_in_patch_code(suite, program):
    update(suite, 'address_of', [('a', 'a 42')], [('b', 'b 42 2')], program)


def test_library_function_the_program_declares_itself(suite, program):
    update(suite, 'library_declared', [('a', 'a n=42')], [('b', 'b n=42 v2')], program)


def test_field_of_a_struct_returned_by_a_replaced_function(suite, program):
    update(suite, 'struct_return', [('a', 'a b=2')], [('b', 'b b=3')], program)


def test_struct_with_two_typedefs_in_one_declaration(suite, program):
    update(suite, 'typedef_pair', [('a', 'a seen=1')], [('b', 'b seen=2 v2')], program)


def test_deleted_function(suite, program):
    update(suite, 'deleted', [('a', 'a count=1 legacy=-1')], [('b', 'b count=2')], program)
    assert 'deleted function   legacy' in suite.patch_output


def test_signature_change_rebinds_callers(suite, program):
    # add() gains a parameter (its caller changed); twice() is widened to
    # long while report()'s text stays the same: report() is rebound.
    update(suite, 'signature', [('a', 'a add=2 report=2')],
           [('b', 'b add=12 report=6')], program)
    assert 'changed signature  add' in suite.patch_output
    assert 'rebound function   report' in suite.patch_output


def test_const_globals_new_value_and_size(suite, program):
    update(suite, 'constants', [('a', 'a limit=5 banner=one size=4')],
           [('b', 'b limit=50 banner=version two size=12')], program)
    assert 'changed constant   banner' in suite.patch_output
    assert 'rebound function   show' in suite.patch_output


def test_changed_initializer_keeps_running_value(suite, program):
    update(suite, 'kept', [('a', 'a hits=1'), ('b', 'b hits=2')],
           [('c', 'c hits=3 (v2)')], program)
    assert 'kept value         hits' in suite.patch_output


def test_static_becomes_global_and_back(suite, program):
    # `saved` holds the address of helper() taken in v1, when it was static
    update(suite, 'linkage', [('a', 'a helper=2 shared=2 via_b=1002 saved=2')],
           [('b', 'b helper=12 shared=6 via_b=2012 saved=12')], program)
    assert 'changed linkage    helper' in suite.patch_output
    assert 'changed linkage    shared' in suite.patch_output


def test_function_pointers_taken_before_reach_new_code(suite, program):
    update(suite, 'callbacks', [('a', 'a sorted=123 inc=2 dec=0')],
           [('b', 'b sorted=321 inc=102 dec=1')], program)


def test_variadic_function(suite, program):
    update(suite, 'variadic', [('a', 'a sum=3 fp=2')], [('b', 'b sum=60 fp=30')], program)


def test_same_static_name_in_two_files(suite, program):
    update(suite, 'samename', [('abcd', 'abcd a=1 b=1'), ('xyz', 'xyz a=0 b=0')],
           [('abcd', 'abcd a=1 b=0'), ('abcdef', 'abcdef a=1 b=1')], program)


def test_static_local_keeps_counting(suite, program):
    update(suite, 'staticlocal', [('a', 'a n=1'), ('b', 'b n=2')],
           [('c', 'c n=12')], program)


def test_line_only_change_is_reported(suite, program):
    update(suite, 'lineonly', [('a', 'a line=2')], [('b', 'b line=5')], program)
    assert 'only an expanded __LINE__ or __FILE__ differs' in suite.patch_output


def test_patch_for_another_version_is_refused(suite, program):
    p = program(suite.binary('changed'))
    assert p.ask('a') == 'a answer=1 count=1'
    assert dsu('apply', p.pid, suite.patch('changed')).returncode == 0
    again = dsu('apply', p.pid, suite.patch('changed'))
    assert again.returncode == 3
    assert 'v1' in again.stderr and 'v2' in again.stderr
    assert p.ask('b') == 'b answer=2 count=2'


def test_dsu_status_lists_applied_patch(suite, program):
    p = program(suite.binary('kept'))
    assert dsu('apply', p.pid, suite.patch('kept')).returncode == 0
    status = dsu('status', p.pid)
    assert status.returncode == 0
    assert 'v2' in status.stdout and 'prog.v1-to-v2.patch.so' in status.stdout


def test_new_function_on_a_program_struct(suite, program):
    update(suite, 'structarg', [('a', 'a w=3 h=3')], [('b', 'b w=4 h=3 area=12')], program)


# -- data type changes ------------------------------------------------------

def test_field_added_to_struct_in_global_array(suite, program):
    update(suite, 'type_array', [('a', 'a n=1 total=10'), ('b', 'b n=2 total=30')],
           [('c', 'c n=3 total=60 value=150'), ('d', 'd n=4 total=100 value=350')], program)
    assert 'changed type       struct item' in suite.patch_output


def test_field_added_to_struct_in_heap_list(suite, program):
    # nodes made by v1 are converted when the new code walks the list
    update(suite, 'type_list', [('a', 'a sum=1'), ('b', 'b sum=3')],
           [('c', 'c sum=6 weighted=6'), ('d', 'd sum=10 weighted=14')], program)


def test_field_added_to_struct_nested_in_another(suite, program):
    update(suite, 'type_nested', [('a', 'a sq x=2 y=2 sides=4 tri x=3')],
           [('b', 'b sq x=3 y=2 z=7 sides=4 tri x=3 z=0')], program)


def test_brace_elided_initialisers_in_the_program_and_in_the_patch(suite, program):
    # v1's table and v2's new global and local leave out the braces of
    # their pairs: each must still hold two of them, in both builds
    update(suite, 'type_elided', [('a', 'a n=2 a=11 b=2 a=3 b=4 calls=1')],
           [('b', 'b a=21 b=2 a=3 b=4 c=24 extra=2/8 local=2/16 calls=2')], program)
    assert 'changed type       struct pair' in suite.patch_output


def test_field_removed(suite, program):
    update(suite, 'type_removed', [('a', 'a id=7 legacy=99 balance=1010')],
           [('b', 'b id=7 balance=1020')], program)


def test_fields_reordered(suite, program):
    update(suite, 'type_reordered', [('a', 'a a=2 b=2.5 c=x')],
           [('b', 'b a=3 b=2.5 c=x (v2)')], program)


def test_field_widened_holds_values_above_2_31(suite, program):
    update(suite, 'type_widened', [('a', 'a hits=1000000000'), ('b', 'b hits=2000000000')],
           [('c', 'c hits=3000000000'), ('d', 'd hits=4000000000')], program)


def test_global_whose_type_changes(suite, program):
    update(suite, 'global_retyped', [('a', 'a total=1000000000 runs=6')],
           [('b', 'b total=2000000000 runs=7 level=1'),     # level: as in v2's source
            ('c', 'c total=3000000000 runs=8 level=1')], program)
    assert 'changed type of    total' in suite.patch_output


def test_static_function_unused_before_arrives_as_new(suite, program):
    # v1 never calls sevenfold(): it has no slot there; v2's patch brings it
    update(suite, 'unused_static', [('a', 'a count=1')],
           [('b', 'b count=2 sevenfold=14')], program)
    assert 'added function     sevenfold' in suite.patch_output


def test_const_table_of_a_changed_struct(suite, program):
    """A const object of a wrapped struct is writable memory in the
    updateable build (conversion writes it), and an object the patch
    defines in the new layout carries the new layout's tag."""
    update(suite, 'type_const', [('add', 'add code=1')],
           [('sub', 'sub code=2 weight=20'), ('div', 'div code=4 weight=40'),
            ('mul', 'mul code=3 weight=30')], program)


def test_calls_across_units_go_through_the_slot(suite, program):
    """handle() calls twice() of another unit through twice's slot, not
    through its stub; atoi() (the C library's) through a weak slot that
    the version object gives it; the dead call to a function defined
    nowhere is gone, as in the ordinary build; a call to fail()
    (declared `_Noreturn`) through its slot is known not to return (the
    suite builds with -Wall -Werror), also in the patch, which replaces
    twice() and checked(): handle() reaches the new ones."""
    d = os.path.join(suite.root, 'crossunit')
    undefined = subprocess.run(['nm', '--undefined-only', os.path.join(d, 'lib.o')],
                               capture_output=True, text=True, check=True).stdout.split()
    assert '__dsu_slot_twice' in undefined and '__dsu_slot_atoi' in undefined
    assert 'twice' not in undefined and 'atoi' not in undefined
    syms = subprocess.run(['nm', suite.binary('crossunit')], capture_output=True, text=True,
                          check=True).stdout
    assert ' V __dsu_slot_atoi' in syms or ' v __dsu_slot_atoi' in syms     # weak
    update(suite, 'crossunit', [('a', 'a twice=42')], [('b', 'b twice=43')], program)
    assert 'changed function   twice' in suite.patch_output
    assert 'changed function   checked' in suite.patch_output
