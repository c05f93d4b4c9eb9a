"""The patch report as one self-contained HTML page (`dsu report --html`).

Inline CSS, no scripts, no external resources: the page can be attached
to a review or a ticket and opened anywhere.  Every text from the program
goes through html.escape, so C source holding markup (a string literal
"<script>...") shows as text.
"""

from html import escape

from . import KIND_WORDS, VARIABLE_WORDS
from .terminal import side_by_side

CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 72em;
       padding: 1em 2em 3em; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.25em; border-bottom: 2px solid #d0d7de; padding-bottom: .2em;
     margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1.5em 0 .4em; }
.ids, .muted { color: #57606a; }
.kind { font-weight: normal; color: #57606a; margin-right: .2em; }
h3 code { font-size: 1.05em; } h3 .muted { font-weight: normal; margin-left: .4em; }
pre, code, td.code { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px;
      padding: .6em .8em; overflow-x: auto; margin: .4em 0; }
pre.diff { padding: .4em 0; }
pre.diff span { display: block; padding: 0 .8em; white-space: pre; }
.add { background: #dafbe1; } .del { background: #ffebe9; }
.hunk { color: #0550ae; background: #ddf4ff; } .file { font-weight: bold; }
table { border-collapse: collapse; margin: .4em 0; }
th, td { border: 1px solid #d0d7de; padding: .25em .7em; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; }
tr.changed td { background: #fff8c5; } tr.old td.o { background: #ffebe9; }
tr.new td.n { background: #dafbe1; }
.ok { color: #1a7f37; font-weight: bold; } .no { color: #cf222e; font-weight: bold; }
.warning { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px;
           padding: .5em .8em; margin: .6em 0; }
.hand { border: 2px solid #bf8700; border-radius: 6px; margin: .6em 0;
        background: #fffbeb; }
.hand > .label { background: #bf8700; color: #fff; font-weight: bold;
                 padding: .2em .8em; font-size: .9em; }
.hand pre { border: 0; background: transparent; margin: 0; }
.gen > .label { color: #57606a; font-size: .9em; margin-top: .6em; }
ul.derived { margin: .3em 0; }
table.contents td { border: 0; padding: .05em .7em .05em 0; }
a { color: #0550ae; text-decoration: none; }
"""


def _diff(lines):
    out = []
    for line in lines:
        cls = ''
        if line.startswith(('+++', '---')):
            cls = 'file'
        elif line.startswith('+'):
            cls = 'add'
        elif line.startswith('-'):
            cls = 'del'
        elif line.startswith('@@'):
            cls = 'hunk'
        out.append('<span%s>%s</span>' % (' class="%s"' % cls if cls else '',
                                           escape(line) or ' '))
    return '<pre class="diff">%s</pre>' % ''.join(out)


def _pre(text):
    return '<pre>%s</pre>' % escape(text)


def _hand(title, text):
    return ('<div class="hand"><div class="label">HAND-WRITTEN &mdash; %s</div>%s</div>'
            % (escape(title), _pre(text)))


def _handwritten_part(hook, text):
    if text:
        return _hand('%s, from the transformer file' % hook, text)
    return '<p class="muted">No hand-written <code>%s</code>.</p>' % escape(hook)


def _generated(title, text):
    return '<div class="gen"><div class="label">%s</div>%s</div>' % (escape(title),
                                                                      _pre(text))


def _layouts(report, t):
    if not (t.old_fields or t.new_fields):
        return ('<table><tr><th>old (%s)</th><th>new (%s)</th></tr><tr><td class="code">'
                '%s</td><td class="code">%s</td></tr></table>'
                % (escape(report.info['from']), escape(report.info['to']),
                   escape(t.old_layout), escape(t.new_layout)))
    rows = ['<tr><th>old (%s)</th><th>new (%s)</th></tr>'
            % (escape(report.info['from']), escape(report.info['to']))]
    for a, b, mark in side_by_side(t.old_fields, t.new_fields):
        cls = {'|': 'changed', '<': 'old', '>': 'new'}.get(mark, '')
        rows.append('<tr%s><td class="code o">%s</td><td class="code n">%s</td></tr>'
                    % (' class="%s"' % cls if cls else '', escape(a), escape(b)))
    return '<table>%s</table>' % ''.join(rows)


def _contents(report):
    """Every change on one screen, each a link to its section."""
    rows = []
    for prefix, items, words in (('f', report.functions, KIND_WORDS),
                                 ('t', report.types, None),
                                 ('g', report.variables, VARIABLE_WORDS)):
        for n, item in enumerate(items):
            kind = words[item.kind] if words else 'changed type'
            rows.append('<tr><td>%s</td><td><a href="#%s%d"><code>%s</code></a></td>'
                        '<td class="code">%s</td></tr>' % (escape(kind), prefix, n,
                                                           escape(item.name),
                                                           escape(item.where)))
    return '<table class="contents">%s</table>' % ''.join(rows) if rows else ''


def render_html(report):
    info = report.info
    h = []
    h.append('<h1>%s</h1>' % escape(report.title))
    h.append('<p class="ids">%s &mdash; from %s (id %s) to %s (id %s)%s</p>' % (
        escape(report.patch), escape(info['from']), escape(info['from_id']),
        escape(info['to']), escape(info['to_id']),
        ' &mdash; project %s' % escape(report.project) if report.project else ''))
    for w in report.warnings:
        h.append('<div class="warning">%s</div>' % escape(w))
    counts = [(len(report.functions), 'function'), (len(report.types), 'data type'),
              (len(report.variables), 'global')]
    if report.detailed:
        h.append('<p>Changes %s; can apply at %d of %d update points.</p>' % (
            ', '.join('%d %s%s' % (n, word, '' if n == 1 else 's') for n, word in counts),
            sum(1 for p in report.points if p.ok), len(report.points)))
    else:
        h.append('<h2>What the patch carries</h2>')
        h.append('<p class="muted">No version store at hand for source diffs.</p>')
        h.append(_pre(info['summary']))

    if report.detailed:
        h.append(_contents(report))
    h.append('<h2>Update points of %s</h2>' % escape(info['from']))
    if report.points:
        rows = ['<tr><th>point</th><th>function</th><th>verdict</th></tr>']
        for p in report.points:
            verdict = ('<span class="ok">can apply here</span>' if p.ok else
                       '<span class="no">not here</span>: in use: %s' % escape(p.blocked_by))
            rows.append('<tr><td class="code">%s</td><td class="code">%s</td><td>%s</td></tr>'
                        % (escape(p.where), escape(p.function), verdict))
        h.append('<table>%s</table>' % ''.join(rows))
        if not any(p.ok for p in report.points):
            h.append('<p class="no">No update point can take this patch.</p>')
    else:
        h.append('<p class="muted">Not known here: the report needs the project\'s '
                 'record of %s.</p>' % escape(info['from']))

    if report.functions:
        h.append('<h2>Functions (%d)</h2>' % len(report.functions))
    for n, f in enumerate(report.functions):
        h.append('<h3 id="f%d"><span class="kind">%s</span> <code>%s</code> '
                 '<span class="muted">%s</span></h3>'
                 % (n, escape(KIND_WORDS[f.kind]), escape(f.name), escape(f.where)))
        if f.note:
            h.append('<p class="muted">%s</p>' % escape(f.note))
        if f.diff:
            h.append(_diff(f.diff))
        elif f.kind == 'rebound':
            h.append('<p class="muted">Same text, recompiled against the new version.</p>')

    if report.types:
        h.append('<h2>Data types (%d)</h2>' % len(report.types))
    for n, t in enumerate(report.types):
        h.append('<h3 id="t%d"><span class="kind">changed type</span> <code>%s</code> '
                 '<span class="muted">%s &mdash; %d bytes with its room</span></h3>'
                 % (n, escape(t.name), escape(t.where), t.size))
        h.append(_layouts(report, t))
        if t.derived or t.manual:
            h.append('<p>dsu converts by itself:</p><ul class="derived">%s</ul>'
                     % ''.join('<li>%s</li>' % escape(d) for d in t.derived))
        if t.manual:
            h.append('<p class="no">Needs hand-written code: %s</p>'
                     % escape('; '.join(t.manual)))
        if t.generated:
            h.append(_generated('generated transformer', t.generated))
        if report.detailed:
            h.append(_handwritten_part(t.hook, t.handwritten))

    if report.variables:
        h.append('<h2>Globals (%d)</h2>' % len(report.variables))
    for n, v in enumerate(report.variables):
        h.append('<h3 id="g%d"><span class="kind">%s</span> <code>%s</code> '
                 '<span class="muted">%s</span></h3>'
                 % (n, escape(VARIABLE_WORDS[v.kind]), escape(v.name), escape(v.where)))
        h.append('<p>%s</p>' % escape(v.note))
        for title, text in zip(('old initialiser', 'new initialiser'), v.initialisers):
            h.append(_generated(title, text))
        if v.generated:
            h.append(_generated('generated state transformer', v.generated))
        if v.hook:
            h.append(_handwritten_part(v.hook, v.handwritten))

    if report.added_types or report.deleted or report.notes:
        h.append('<h2>Also</h2><ul>')
        h += ['<li>added type <code>%s</code></li>' % escape(t) for t in report.added_types]
        h += ['<li>deleted %s: old code that still runs keeps it</li>' % escape(d)
              for d in report.deleted]
        h += ['<li>%s</li>' % escape(n) for n in report.notes]
        h.append('</ul>')

    if report.handwritten_files:
        h.append('<h2>Hand-written files</h2>')
    for path, text, active in report.handwritten_files:
        h.append(_hand('%s (defines %s)' % (path, ', '.join(active) or
                                            'no active function: templates only'), text))
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<title>%s</title>\n<style>%s</style></head>\n<body>\n%s\n</body></html>\n'
            % (escape(report.title), CSS, '\n'.join(h)))
