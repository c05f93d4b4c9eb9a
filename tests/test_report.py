"""`dsu report PATCH`: what a reviewer reads before a rollout, as text and
as one HTML page (rendered by headless Chromium where it is installed)."""

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from conftest import dsu
from test_types import Project

V1 = r'''
#include <stdio.h>
#include <string.h>
struct rec { int id; int qty; };
static struct rec items[4];
static int
bump(int x)
{
    return x + 1;
}
void handle(const char *cmd)
{
    if (!strcmp(cmd, "fill"))
        for (int i = 0; i < 4; i++) {
            items[i].id = i + 1;
            items[i].qty = 10 * (i + 1);
        }
    printf("v1 %d/%d\n", items[0].id, bump(items[0].qty));
}
'''

# A string literal holding markup: the page must show it as text.  Were
# it markup, Chromium would run it and the page's title would change.
V2 = r'''
#include <stdio.h>
#include <string.h>
struct rec { int id; int qty; int price; };
static struct rec items[4];
static int
bump(int x)
{
    return x + 2;
}
void handle(const char *cmd)
{
    items[0].qty++;
    printf("<script>document.title='pwned'</script> %s %d/%d/%d\n",
           cmd, items[0].id, bump(items[0].qty), items[0].price);
}
'''

TRANSFORMER = r'''/* price: what the old quantity was worth */
int dsu_transform_struct_rec(const struct dsu_old_rec *old, struct rec *new)
{
    new->price = 3 * old->qty;
    return 0;
}
'''


@pytest.fixture(scope='module')
def patched(tmp_path_factory):
    p = Project(tmp_path_factory.mktemp('report') / 'proj')
    p.version('v1', V1)
    p.version('v2', V2)
    p.write('dsu/prog.v1-to-v2.xf.c', TRANSFORMER)
    p.patch('v1', 'v2')
    return p


def test_terminal_report_shows_diffs_layouts_transformers_and_points(patched):
    r = dsu('report', patched.path('prog.v1-to-v2.patch.so'), '--project', patched.root)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith('patch prog: v1 -> v2\n')
    # the update point of v1, with the analysis' verdict
    assert 'driver.c:18 (main): can apply here' in out
    # source diffs as written, with the lines of the files (bump starts at
    # line 7 of v1's lib.c: its GNU-style head line 6 comes along)
    assert 'changed function bump (lib.c:7)' in out
    assert '    @@ -6,5 +6,5 @@\n' in out
    assert '     static int\n' in out
    assert '    -    return x + 1;\n    +    return x + 2;\n' in out
    assert '    -        for (int i = 0; i < 4; i++) {\n' in out
    # layouts side by side: the new field alone on the new side
    assert re.search(r'old \(v1\) +new \(v2\)\n +int id; +int id;\n +int qty; +int qty;\n'
                     r' +> int price;\n', out), out
    assert 'dsu converts: id: copied; qty: copied; price: new, zero' in out
    assert 'new->qty = old.qty;' in out                     # the generated transformer
    # the developer's code, marked as such
    assert 'HAND-WRITTEN dsu_transform_struct_rec (transformer file):\n' in out
    assert '        new->price = 3 * old->qty;\n' in out
    assert 'HAND-WRITTEN dsu/prog.v1-to-v2.xf.c (defines dsu_transform_struct_rec)' in out
    assert '\x1b[' not in out                               # no colour into a pipe


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.external = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.external += [v for k, v in attrs if k in ('src', 'href') and v
                          and not v.startswith('#')]

    def handle_data(self, data):
        self.text.append(data)


def _page(patched, tmp_path):
    page = tmp_path / 'report.html'
    r = dsu('report', patched.path('prog.v1-to-v2.patch.so'), '--project', patched.root,
            '--html', page)
    assert r.returncode == 0, r.stderr
    return page


def test_html_report_is_one_page_with_the_source_as_text(patched, tmp_path):
    html = _page(patched, tmp_path).read_text()
    parsed = _Page()
    parsed.feed(html)
    assert 'script' not in parsed.tags and 'link' not in parsed.tags
    assert parsed.external == []                           # nothing fetched from elsewhere
    assert 'style' in parsed.tags                          # its CSS is inline
    text = ''.join(parsed.text)
    assert "+    printf(\"<script>document.title='pwned'</script> %s %d/%d/%d\\n\"," in text
    assert 'HAND-WRITTEN' in text and 'new->price = 3 * old->qty;' in text
    assert 'can apply here' in text
    assert html.count('class="add"') >= 3 and html.count('class="del"') >= 3


CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')


@pytest.mark.skipif(not CHROMIUM, reason='Chromium is not installed (apt-get install '
                    'chromium); the page structure is tested above')
def test_html_report_renders_in_chromium(patched, tmp_path):
    page = _page(patched, tmp_path)
    base = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
            '--user-data-dir=%s' % (tmp_path / 'profile'), '--window-size=1200,1600']
    dom = subprocess.run(base + ['--dump-dom', page.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # the literal's markup never ran: the title is the report's
    assert '<title>patch prog: v1 -&gt; v2</title>' in dom.stdout
    assert '&lt;script&gt;document.title=\'pwned\'&lt;/script&gt;' in dom.stdout
    shot = tmp_path / 'report.png'
    r = subprocess.run(base + ['--screenshot=%s' % shot, page.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    assert (int.from_bytes(png[16:20], 'big'), int.from_bytes(png[20:24], 'big')) == \
        (1200, 1600)
    # a blank page of that size compresses to a few kilobytes
    assert len(png) > 40000, len(png)
    keep = os.environ.get('DSU_REPORT_SCREENSHOT')
    if keep:
        shutil.copy(shot, keep)


def test_report_without_the_version_store_shows_what_the_patch_carries(patched, tmp_path):
    r = dsu('report', patched.path('prog.v1-to-v2.patch.so'), '--project', tmp_path)
    assert r.returncode == 0, r.stderr
    assert 'warning: no recorded version v1 of prog in %s' % tmp_path in r.stdout
    assert 'changed function   handle (lib.c:11)' in r.stdout        # the summary
    assert '    old {int id; int qty}\n    new {int id; int qty; int price}\n' in r.stdout


def test_report_of_a_file_that_is_no_patch(tmp_path):
    bogus = tmp_path / 'x.so'
    bogus.write_text('not an ELF file')
    r = dsu('report', bogus)
    assert r.returncode == 2
    assert r.stderr.startswith('dsu: ') and 'Traceback' not in r.stderr


def test_info_html_writes_the_same_page_from_the_project_here(patched, tmp_path):
    from conftest import tool_env
    page = tmp_path / 'info.html'
    r = subprocess.run([sys.executable, '-m', 'dsu_tool', 'info', 'prog.v1-to-v2.patch.so',
                        '--html', str(page)], cwd=patched.root, capture_output=True,
                       text=True, env=tool_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    html = page.read_text()
    assert 'HAND-WRITTEN' in html and 'class="del"' in html and '<script' not in html


def test_report_shows_the_state_transformer_of_a_retyped_global(tmp_path):
    from conftest import PROGRAMS
    p = Project(tmp_path / 'proj')
    for v in ('v1', 'v2'):
        with open(os.path.join(PROGRAMS, 'global_retyped', v, 'lib.c')) as f:
            p.version(v, f.read())
    p.patch('v1', 'v2')
    out = dsu('report', p.path('prog.v1-to-v2.patch.so'), '--project', p.root).stdout
    assert 'changed type of total (lib.c:2)\n    int -> long: new storage' in out
    section = out[out.index('changed type of total'):]
    assert 'generated state transformer:\n    static int __dsu_st_' in section
    assert '        *new = *__dsu_impo_' in section
    assert 'no hand-written dsu_transform_total' in section


def _table(last):
    values = ', '.join(str(1000 + i) for i in range(199)) + ', %d' % last
    return '''
#include <stdio.h>
static int weights[200] = { %s };
void handle(const char *cmd)
{
    printf("%%s %%d\\n", cmd, weights[199]);
}
''' % values


def test_a_kept_tables_initialisers_are_abbreviated_in_the_summary(tmp_path):
    """A table's initialiser runs to thousands of characters: the summary
    line of `scons patch` abbreviates it, `dsu report` shows it whole."""
    p = Project(tmp_path / 'proj')
    p.version('v1', _table(1))
    p.version('v2', _table(2))
    out = p.patch('v1', 'v2').stdout
    line = next(l for l in out.splitlines() if 'kept value' in l)
    assert len(line) < 300, line
    assert 'initializer changed (1000, 1001, 1002' in line and ' ...' in line
    report = dsu('report', p.path('prog.v1-to-v2.patch.so'), '--project', p.root).stdout
    old = report[report.index('old initialiser:'):report.index('new initialiser:')]
    new = report[report.index('new initialiser:'):]
    assert ' '.join(old.split()).rstrip('}').endswith('1198, 1'), old[-200:]
    assert '1000, 1001' in old and '1198, 2' in ' '.join(new.split())
