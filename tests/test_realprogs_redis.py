"""Real releases written by other people: redis 2.0.0 -> 2.0.4 built with
dsu and updated live in one process, twice: built with SCons and patched
by `scons patch`, then built by redis's own Makefile with `make CC="dsu
cc ..."` and patched by `dsu patch` (tests/realprogs/redis_chain.py does
the work; it also runs alone, with the Tcl suite of every release: `--tcl
all`).

The sources are read-only input outside this repository:
../shared/realprogs/redis beside the project, or $DSU_REALPROGS/redis.
Without them this tier cannot run and says so.  It takes about 9 minutes
on two cores for SCons (builds 3, patches 1.5, redis's own Tcl suite
three times, 2 minutes each) and 4 more for Make, whose Tcl run is only the
one against the updated process (the ordinary build's run is the SCons
path's: the same sources and flags)."""

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'realprogs'))
import redis_chain  # noqa: E402

pytestmark = pytest.mark.skipif(
    redis_chain.sources() is None or shutil.which('tclsh') is None,
    reason='redis 2.0 sources (../shared/realprogs/redis or $DSU_REALPROGS) or tclsh '
           'not found: the real-program tier cannot run here')


@pytest.fixture(scope='module')
def chain(tmp_path_factory):
    work = str(tmp_path_factory.mktemp('redis'))
    figures = redis_chain.build_scons(work, redis_chain.sources())
    return work, figures


def every_step_is_a_generated_patch(figures):
    """Each release built and recorded; each step's patch generated, with
    no line written by hand."""
    for release, f in figures['releases'].items():
        assert f['summary'].startswith('dsu: redis-server %s: ' % release), f
    for step in figures['steps']:
        assert os.path.exists(step['patch'])
        assert step['handwritten_lines'] == 0, step['summary']
        assert step['changed_functions'] > 0, step['summary']


def live_chain(figures, work):
    """The chain in one process (redis_chain.live_chain checks data,
    connections, INFO and the dumps); every pause under a millisecond."""
    redis_chain.live_chain(figures, work)
    for step in figures['steps']:
        assert step['dump_loaded_by_plain'] and step['pause_us'] < 1000, step
    print('\n' + redis_chain.table(figures))


def test_every_release_builds_and_every_step_is_a_generated_patch(chain):
    work, figures = chain
    every_step_is_a_generated_patch(figures)


def test_live_from_2_0_0_to_2_0_4_in_one_process(chain):
    work, figures = chain
    live_chain(figures, work)


def test_tcl_suite_against_the_updated_process(chain):
    """redis 2.0.4's own suite, against its ordinary build, its fresh
    updateable build, and a server started as 2.0.0 and patched up to
    2.0.4 before the harness talks to it: the two updateable ones fail no
    test the ordinary build passes."""
    work, figures = chain
    last = redis_chain.RELEASES[-1]
    plain_passed, plain_failed = redis_chain.tcl_suite(
        work, last, os.path.join(work, 'plain-' + last, 'redis-server'), 'plain')
    allowed = plain_failed | redis_chain.TIMING_TESTS
    fresh_passed, fresh_failed = redis_chain.tcl_suite(
        work, last, os.path.join(figures['project'], 'redis-server.' + last), 'fresh')
    assert fresh_failed <= allowed, fresh_failed - plain_failed
    wrapper, env = redis_chain.updated_server(figures, last)
    passed, failed = redis_chain.tcl_suite(work, last, wrapper, 'updated', env)
    assert failed <= allowed, failed - plain_failed
    assert passed >= plain_passed - len(redis_chain.TIMING_TESTS)
    print('\nTcl suite %s: ordinary %d passed; updateable %d; updated from 2.0.0 %d'
          % (last, plain_passed, fresh_passed, passed))


# -- the same chain through redis's unmodified Makefile -----------------------

@pytest.fixture(scope='module')
def make_chain(tmp_path_factory):
    work = str(tmp_path_factory.mktemp('redis-make'))
    figures = redis_chain.build_make(work, redis_chain.sources())
    return work, figures


def test_make_records_every_release_in_one_project_and_dsu_patch_builds_each_step(
        make_chain):
    work, figures = make_chain
    listed = redis_chain.dsu('versions', figures['project']).stdout
    recorded = sorted(line.split()[0] for line in listed.splitlines()
                      if line.split()[1:2] == ['redis-server'])
    assert recorded == redis_chain.RELEASES, listed
    every_step_is_a_generated_patch(figures)


def test_make_live_from_2_0_0_to_2_0_4_in_one_process(make_chain):
    work, figures = make_chain
    live_chain(figures, work)


def test_make_tcl_suite_against_the_updated_process(make_chain):
    """redis 2.0.4's own suite against a server started as the Make-built
    2.0.0 and patched up to 2.0.4 by the patches of `dsu patch`: it fails
    no test but the timing one (the ordinary build's run is the SCons
    path's above)."""
    work, figures = make_chain
    last = redis_chain.RELEASES[-1]
    wrapper, env = redis_chain.updated_server(figures, last)
    passed, failed = redis_chain.tcl_suite(work, last, wrapper, 'updated', env)
    assert failed <= redis_chain.TIMING_TESTS, failed
    assert passed >= redis_chain.TCL_TESTS[last] - len(redis_chain.TIMING_TESTS), passed
    print('\nTcl suite %s: updated from the Make-built 2.0.0: %d passed' % (last, passed))
