"""Real releases written by other people: redis 2.0.0 -> 2.0.4 built with
dsu, patched by `scons patch` and updated live in one process
(tests/realprogs/redis_chain.py does the work; it also runs alone, with
the Tcl suite of every release: `--tcl all`).

The sources are read-only input outside this repository:
../shared/realprogs/redis beside the project, or $DSU_REALPROGS/redis.
Without them this tier cannot run and says so.  It takes about 9 minutes
on two cores: builds 3, patches 1.5, redis's own Tcl suite three times
(2 minutes each)."""

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
    figures = redis_chain.build(work, redis_chain.sources())
    return work, figures


def test_every_release_builds_and_every_step_is_a_generated_patch(chain):
    work, figures = chain
    for release, f in figures['releases'].items():
        assert f['summary'].startswith('dsu: redis-server %s: ' % release), f
    for step in figures['steps']:
        assert os.path.exists(step['patch'])
        assert step['handwritten_lines'] == 0, step['summary']
        assert step['changed_functions'] > 0, step['summary']


def test_live_from_2_0_0_to_2_0_4_in_one_process(chain):
    work, figures = chain
    redis_chain.live_chain(figures, work)
    for step in figures['steps']:
        assert step['dump_loaded_by_plain'] and step['pause_us'] < 1000, step
    print('\n' + redis_chain.table(figures))


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
