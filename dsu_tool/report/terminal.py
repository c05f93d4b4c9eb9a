"""The patch report as text for a terminal (or a review comment).

Sections in the order a reviewer decides in: what the patch joins, where
it can apply, the code it replaces, the data it converts, the code a
person wrote.  Colour only on a terminal; hand-written parts are marked
with a "HAND-WRITTEN" banner, which survives without colour.
"""

import textwrap

from . import KIND_WORDS, VARIABLE_WORDS

RED, GREEN, CYAN, BOLD, YELLOW, RESET = ('\x1b[31m', '\x1b[32m', '\x1b[36m', '\x1b[1m',
                                         '\x1b[33m', '\x1b[0m')


class _Out:
    def __init__(self, colour):
        self.lines = []
        self.colour = colour

    def __call__(self, text='', style=''):
        self.lines.append(style + text + RESET if style and self.colour else text)

    def heading(self, text):
        self('')
        self(text, BOLD)
        self('=' * len(text))

    def code(self, text, indent='    '):
        for line in text.splitlines():
            self(indent + line)


def _diff_line(out, line):
    style = ''
    if line.startswith(('+++', '---')):
        style = BOLD
    elif line.startswith('+'):
        style = GREEN
    elif line.startswith('-'):
        style = RED
    elif line.startswith('@@'):
        style = CYAN
    out('    ' + line, style)


def side_by_side(old, new, width=38):
    """Rows (old, new, mark) aligning two lists of field declarations:
    mark is ' ' same, '|' changed, '<' only old, '>' only new."""
    import difflib
    rows = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
        if op == 'equal':
            rows += [(old[i], new[j], ' ') for i, j in zip(range(i1, i2), range(j1, j2))]
            continue
        left, right = old[i1:i2], new[j1:j2]
        for k in range(max(len(left), len(right))):
            a = left[k] if k < len(left) else ''
            b = right[k] if k < len(right) else ''
            rows.append((a, b, '|' if a and b else '<' if a else '>'))
    return rows


def _handwritten(out, hook, text):
    if text:
        out('  HAND-WRITTEN %s (transformer file):' % hook, YELLOW + BOLD)
        out.code(text)
    else:
        out('  no hand-written %s' % hook)


def render_text(report, colour=False):
    out = _Out(colour)
    info = report.info
    out(report.title, BOLD)
    out('%s: from %s (id %s) to %s (id %s)' % (report.patch, info['from'], info['from_id'],
                                              info['to'], info['to_id']))
    for w in report.warnings:
        out('warning: ' + w, YELLOW)
    if not report.detailed:
        out('')
        out('what the patch carries (no version store at hand for source diffs):')
        out.code(info['summary'], '  ')
    out.heading('Update points of %s' % info['from'])
    if not report.points:
        out('  (not known here: the report needs the project\'s record of %s)' % info['from'])
    for p in report.points:
        if p.ok:
            out('  %s (%s): can apply here' % (p.where, p.function), GREEN)
        else:
            out('  %s (%s): not here, in use: %s' % (p.where, p.function, p.blocked_by), RED)
    if report.points and not any(p.ok for p in report.points):
        out('  no update point can take this patch', RED + BOLD)
    if report.functions:
        out.heading('Functions (%d)' % len(report.functions))
    for f in report.functions:
        out('')
        out('%s %s (%s)%s' % (KIND_WORDS[f.kind], f.name, f.where,
                              ': ' + f.note if f.note else ''), BOLD)
        if f.diff:
            for line in f.diff:
                _diff_line(out, line)
        elif f.kind == 'rebound':
            out('    same text, recompiled against the new version')
    if report.types:
        out.heading('Data types (%d)' % len(report.types))
    for t in report.types:
        out('')
        out('changed type %s%s, %d bytes with its room' % (
            t.name, ' (%s)' % t.where if t.where else '', t.size), BOLD)
        if t.old_fields or t.new_fields:
            out('    %-38s   %s' % ('old (%s)' % info['from'], 'new (%s)' % info['to']))
            for a, b, mark in side_by_side(t.old_fields, t.new_fields):
                style = {'|': YELLOW, '<': RED, '>': GREEN}.get(mark, '')
                out('    %-38s %s %s' % (a, mark, b), style)
        else:
            out('    old %s' % t.old_layout)
            out('    new %s' % t.new_layout)
        if t.derived or t.manual:
            out('  dsu converts: %s' % ('; '.join(t.derived) or 'nothing'))
        if t.manual:
            out('  needs hand-written code: %s' % '; '.join(t.manual), YELLOW)
        if t.generated:
            out('  generated transformer:')
            out.code(t.generated)
        if report.detailed:
            _handwritten(out, t.hook, t.handwritten)
    if report.variables:
        out.heading('Globals (%d)' % len(report.variables))
    for v in report.variables:
        out('%s %s (%s)' % (VARIABLE_WORDS[v.kind], v.name, v.where), BOLD)
        for line in textwrap.wrap(v.note, 100):
            out('    ' + line)
        for title, text in zip(('old initialiser:', 'new initialiser:'), v.initialisers):
            out('  ' + title)
            out.code('\n'.join(textwrap.wrap(text, 96, break_long_words=False,
                                               break_on_hyphens=False)) or text)
        if v.generated:
            out('  generated state transformer:')
            out.code(v.generated)
        if v.hook:
            _handwritten(out, v.hook, v.handwritten)
    if report.added_types or report.deleted or report.notes:
        out.heading('Also')
        for t in report.added_types:
            out('  added type %s' % t)
        for d in report.deleted:
            out('  deleted %s: old code that still runs keeps it' % d)
        for n in report.notes:
            out('  note: ' + n)
    if report.handwritten_files:
        out.heading('Hand-written files')
    for path, text, active in report.handwritten_files:
        out('')
        out('HAND-WRITTEN %s (defines %s)' % (path, ', '.join(active) or
                                              'no active function: templates only'),
            YELLOW + BOLD)
        out.code(text)
    return '\n'.join(out.lines) + '\n'
