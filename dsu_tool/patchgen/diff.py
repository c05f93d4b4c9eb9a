"""correlate -> compare -> classify -> check: what a patch must contain.

Definitions of the old version A and the new version B are correlated by
link name; a static that became global (or the reverse) is correlated by
its source name within the same unit.  Each function of B is then

  NEW       not in A: gets a slot of its own in the patch
  CHANGED   body differs: a new body for the existing slot
  SIGNATURE type differs: a new slot (old callers keep the old function)
  RENAMED   static <-> global: a new slot; the old slot gets the new body
  REBOUND   same text, but it refers to something whose identity changed
            (a new signature, a new constant value, a renamed function,
            an enumerator with a new value), or it calls without a slot
            (the 'direct' pass) a function the patch replaces, or the
            functions it calls that way are not the same: recompiled
  SAME      left alone

Variables of B are NEW (defined by the patch, initialised as in B), CONST
(a const whose value or size changed: new storage, users rebound), RETYPED
(its type changed: new storage filled from the old value by a state
transformer, users rebound; an array declared `[]` whose initialiser
grows or shrinks is one: model.arrays), KEPT (a changed initialiser of a
non-const: the running value is kept), TRANSFORMED (the same, but the
developer's transformer file defines dsu_transform_NAME for it: new
storage, filled from the running value, then passed through it; users
rebound), or SAME.

A wrapped struct whose layout changed is a TypeChange: the patch carries
a type transformer, and every function that uses the type is rebound.

A full replacement (`full`, `scons patch full=1`) counts everything as
changed: each function of B that would be SAME or only REBOUND is
CHANGED, each const that would be SAME is CONST (new storage, as if its
value had changed) unless its initializer refers to the program's
definitions (a patch cannot define such an object yet), and each other
variable that would be SAME is KEPT, so that the summary says what
happens to it.  The patch then carries the whole program's code.
"""

import re
from dataclasses import dataclass, field

from ..frontend.errors import DsuError
from ..model.tu import function_label

NEW, CHANGED, SIGNATURE, RENAMED, REBOUND = (
    'new', 'changed', 'signature', 'renamed', 'rebound')
CONST, KEPT, RETYPED, TRANSFORMED = 'const', 'kept', 'retyped', 'transformed'
# variables the patch gives new storage, filled by a state transformer
FILLED_FROM_OLD = (RETYPED, TRANSFORMED)

_INT = re.compile(r'^\d+[uUlL]*$')
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[A-Za-z_]\w*|\d[\w.]*|\S')


# The note of a function whose text differs only where __LINE__/__FILE__ expand.
LINE_ONLY = 'only an expanded __LINE__ or __FILE__ differs (the code moved)'

@dataclass
class FunctionChange:
    link: str
    kind: str
    ent: object                     # entity in B
    old: object = None              # correlated entity in A
    note: str = ''


@dataclass
class VariableChange:
    link: str
    kind: str
    ent: object
    old: object = None
    note: str = ''


@dataclass
class TypeChange:
    key: str
    old: object                     # StructDef in A
    new: object                     # StructDef in B
    old_unit: object
    new_unit: object
    sizes: dict                     # A's size and tag offset (kept)

    @property
    def name(self):
        return self.new.name


@dataclass
class Plan:
    a: object
    b: object
    functions: dict = field(default_factory=dict)     # link in B -> change
    variables: dict = field(default_factory=dict)
    deleted: list = field(default_factory=list)       # entities of A
    notes: list = field(default_factory=list)
    types: dict = field(default_factory=dict)         # key -> TypeChange
    new_types: list = field(default_factory=list)     # StructDefs of B new in B

    def patch_functions(self, unit=None):
        return [c for c in self.functions.values()
                if unit is None or self.b.unit_of[c.link] is unit]

    def patch_variables(self, unit=None):
        return [c for c in self.variables.values()
                if c.kind in (NEW, CONST) + FILLED_FROM_OLD
                and (unit is None or self.b.unit_of[c.link] is unit)]

    def kept_sizes(self, key):
        """The size and tag offset a wrapped type has in the running program."""
        for u in self.a.units:
            if key in u.sizes:
                return u.sizes[key]
        for u in self.b.units:
            if key in u.sizes:
                return u.sizes[key]
        return None

    def defined_by_patch(self, link):
        """Does the patch give LINK new storage or a new slot?"""
        f = self.functions.get(link)
        if f is not None:
            return f.kind in (NEW, SIGNATURE, RENAMED)
        v = self.variables.get(link)
        return v is not None and v.kind in (NEW, CONST) + FILLED_FROM_OLD

    def summary(self):
        lines = ['patch %s: %s -> %s' % (self.b.program, self.a.name, self.b.name)]
        order = [NEW, CHANGED, SIGNATURE, RENAMED, REBOUND]
        words = {NEW: 'added function', CHANGED: 'changed function',
                 SIGNATURE: 'changed signature', RENAMED: 'changed linkage',
                 REBOUND: 'rebound function'}
        for kind in order:
            for c in sorted(self.functions.values(), key=lambda c: c.link):
                if c.kind == kind:
                    lines.append('  %-18s %s (%s:%d)%s' % (
                        words[kind], function_label(c.ent.name), c.ent.file, c.ent.line,
                        ': ' + c.note if c.note else ''))
        for d in sorted(self.new_types, key=lambda d: d.key):
            lines.append('  %-18s %s (%s:%d)' % ('added type', d.name, d.node.coord.file,
                                                 d.node.coord.line))
        for key, t in sorted(self.types.items()):
            lines.append('  %-18s %s (%s:%d): %s -> %s' % (
                'changed type', t.name, t.new.node.coord.file, t.new.node.coord.line,
                t.old.layout, t.new.layout))
        vwords = {NEW: 'added global', CONST: 'changed constant', KEPT: 'kept value',
                  RETYPED: 'changed type of', TRANSFORMED: 'transformed value'}
        for kind in (NEW, CONST, RETYPED, TRANSFORMED, KEPT):
            for c in sorted(self.variables.values(), key=lambda c: c.link):
                if c.kind == kind:
                    name = c.ent.name if not c.ent.owner else '%s (static in %s)' % (
                        c.ent.name, function_label(c.ent.owner))
                    lines.append('  %-18s %s (%s:%d)%s' % (
                        vwords[kind], name, c.ent.file, c.ent.line,
                        ': ' + c.note if c.note else ''))
        for ent in sorted(self.deleted, key=lambda e: e.link):
            lines.append('  %-18s %s (%s:%d): old code that still runs keeps it'
                         % ('deleted ' + ent.kind, function_label(ent.name), ent.file, ent.line))
        lines += ['  note: ' + n for n in self.notes]
        if len(lines) == 1:
            lines.append('  no changes')
        return '\n'.join(lines)


def abbreviate(init_text, limit=60):
    """An initialiser as one line of at most about LIMIT characters: a
    table's initialiser runs to thousands, and the summary line has to
    stay readable (`dsu report` shows the whole text)."""
    text = ' '.join((init_text or '0').split())
    return text if len(text) <= limit else text[:limit - 4].rstrip() + ' ...'


def hook_name(ent):
    """The function of the developer's transformer file for variable ENT."""
    return 'dsu_transform_' + re.sub(r'\W', '_', ent.name)


def correlate(a, b):
    """Map each link of B to its counterpart in A (or None)."""
    pairs = {}
    by_source = {}
    for link, ent in list(a.functions.items()) + list(a.variables.items()):
        by_source.setdefault((a.unit_of[link].tu, ent.name, ent.owner), []).append(link)
    for link, ent in list(b.functions.items()) + list(b.variables.items()):
        if a.entity(link) is not None:
            pairs[link] = link
            continue
        candidates = [l for l in by_source.get((b.unit_of[link].tu, ent.name, ent.owner), [])
                      if b.entity(l) is None]
        pairs[link] = candidates[0] if len(candidates) == 1 else None
    return pairs


def only_line_numbers(old_text, new_text, old_ent, new_ent):
    """True when the bodies differ only in expanded __LINE__/__FILE__."""
    t1, t2 = _TOKEN.findall(old_text), _TOKEN.findall(new_text)
    if len(t1) != len(t2):
        return False
    delta = new_ent.line - old_ent.line
    differs = False
    for x, y in zip(t1, t2):
        if x == y:
            continue
        differs = True
        if _INT.match(x) and _INT.match(y):
            if int(re.sub(r'[uUlL]', '', y)) - int(re.sub(r'[uUlL]', '', x)) != delta:
                return False
        elif x.startswith('"') and y.startswith('"'):
            if (x[1:-1], y[1:-1]) != (old_ent.file, new_ent.file):
                return False
        else:
            return False
    return differs


FULL_NOTE = 'replaced in full'


def compare(a, b, hooks=frozenset(), full=False):
    """HOOKS: the functions the developer's transformer files define.
    FULL: every function and constant counts as changed (a full
    replacement)."""
    plan = Plan(a, b)
    pairs = correlate(a, b)
    changed_identity = set()      # links of B whose users must be rebound
    for link, ent in b.functions.items():
        old_link = pairs.get(link)
        old = a.functions.get(old_link) if old_link else None
        if old is None:
            plan.functions[link] = FunctionChange(link, NEW, ent)
            continue
        old_body = a.unit_of[old_link].body(old)
        new_body = b.unit_of[link].body(ent)
        if old_link != link:
            plan.functions[link] = FunctionChange(
                link, RENAMED, ent, old,
                'now %s' % ('static' if ent.static else 'global'))
            changed_identity.add(link)
        elif old.hash != ent.hash:
            plan.functions[link] = FunctionChange(
                link, SIGNATURE, ent, old, '%s -> %s' % (old.type_text, ent.type_text))
            changed_identity.add(link)
        elif old_body != new_body:
            note = ''
            if only_line_numbers(old_body, new_body, old, ent):
                note = LINE_ONLY
            plan.functions[link] = FunctionChange(link, CHANGED, ent, old, note)
        elif full:
            plan.functions[link] = FunctionChange(link, CHANGED, ent, old, FULL_NOTE)
    for link, ent in b.variables.items():
        old_link = pairs.get(link)
        old = a.variables.get(old_link) if old_link else None
        if old is None:
            plan.variables[link] = VariableChange(link, NEW, ent)
            continue
        if old.type_text != ent.type_text and not ent.const:
            grows = old.length is not None and ent.length is not None and \
                old.type_text.rsplit('[', 1)[0] == ent.type_text.rsplit('[', 1)[0]
            plan.variables[link] = VariableChange(
                link, RETYPED, ent, old, '%s -> %s: new storage, %s' % (
                    old.type_text, ent.type_text,
                    'the running elements kept, new ones as initialised' if grows
                    else 'filled from the old value'))
            changed_identity.add(link)
            continue
        if old_link != link and not ent.const:
            raise DsuError("'%s' changed linkage (static <-> global): not "
                           "supported for variables yet" % ent.name, ent.file, ent.line)
        if ent.const and old.hash != ent.hash:
            plan.variables[link] = VariableChange(
                link, CONST, ent, old, 'new storage with the new value')
            changed_identity.add(link)
        elif old.init_text != ent.init_text and hook_name(ent) in hooks:
            plan.variables[link] = VariableChange(
                link, TRANSFORMED, ent, old, 'initializer changed; the running value, '
                'passed through %s: new storage' % hook_name(ent))
            changed_identity.add(link)
        elif old.init_text != ent.init_text:
            plan.variables[link] = VariableChange(
                link, KEPT, ent, old,
                'initializer changed (%s -> %s); the running value is kept (%s() in '
                'the transformer file can change it)'
                % (abbreviate(old.init_text), abbreviate(ent.init_text), hook_name(ent)))
        elif full and ent.const:
            plan.variables[link] = VariableChange(
                link, CONST, ent, old, FULL_NOTE + ': new storage with its value')
            changed_identity.add(link)
        elif full:
            plan.variables[link] = VariableChange(
                link, KEPT, ent, old, 'a full replacement keeps running values')
    b_links = set(b.functions) | set(b.variables)
    matched = {v for v in pairs.values() if v}
    for link, ent in list(a.functions.items()) + list(a.variables.items()):
        if link not in b_links and link not in matched:
            plan.deleted.append(ent)
    plan.types = compare_types(a, b, plan)
    plan.new_types = [d for key, (d, _) in b.structs.items() if key not in a.structs]
    _rebind(plan, changed_identity)
    _direct_callers(plan, pairs)
    _check_as_written(plan)
    _check_types(a, b)
    _check_raw(a, b)
    return plan


def _check_raw(a, b):
    """Top-level asm statements, and declarations the parser cannot take,
    are kept as written: a patch cannot change what they define."""
    old = {u.tu: [text for text, _, _ in u.raw] for u in a.units}
    for u in b.units:
        before = old.get(u.tu, [])
        for k, (text, coord, kind) in enumerate(u.raw):
            if text not in before:
                raise DsuError('a top-level %s kept as written changed (or is new): a '
                               'patch cannot change one; a change to it takes a restart'
                               % kind, coord.file, coord.line)


def _check_as_written(plan):
    """A function compiled as written (frontend.aswritten) has no slot of
    its own and no AST the patch could be made from: a patch that would
    replace it, or give it its body, is refused with the reason.  One
    whose text differs only in an expanded __LINE__, or that a full
    replacement would replace, is left as it runs (noted)."""
    for link, c in sorted(plan.functions.items()):
        for version, ent in ((plan.b, c.ent), (plan.a, c.old)):
            if ent is None or not ent.as_written:
                continue
            if c.note == FULL_NOTE or c.kind == CHANGED and c.note.startswith('only an'):
                plan.notes.append('%s (%s:%d) is compiled as written: the patch leaves it '
                                  'as it runs (%s)' % (ent.name, ent.file, ent.line, c.note))
                del plan.functions[link]
                break
            unit = version.unit_of[ent.link]
            rec = unit.as_written.get(ent.name)
            where = ' (%s:%s)' % (rec.file, rec.line) if rec else ''
            why = ' (the patch would %s it%s)' % (
                {NEW: 'add', REBOUND: 'recompile'}.get(c.kind, 'replace'),
                ': ' + c.note if c.note else '') if c.kind != CHANGED else ''
            raise DsuError("'%s' cannot be replaced by a patch%s: %s compiled as written, "
                           "because %s%s; a change to it takes a restart"
                           % (ent.name, why, 'the running version has it'
                              if version is plan.a else 'it is', ent.as_written, where),
                           ent.file, ent.line)


def compare_types(a, b, plan):
    """The wrapped structs whose layout changed; a change to a struct that
    is not wrapped is refused with the reason."""
    out = {}
    for key, (new, new_unit) in b.structs.items():
        if key not in a.structs:
            continue
        old, old_unit = a.structs[key]
        where = (new.node.coord.file, new.node.coord.line)
        if old.wrapped != new.wrapped:
            # the running objects have room and a tag that the new code's
            # objects would not have, or the other way round
            fixed, free = (b, a) if old.wrapped else (a, b)
            raise DsuError('%s has room to grow in version %s but keeps its ordinary '
                           'layout in version %s (%s), so the two versions disagree on '
                           'its size; a patch cannot change that'
                           % (new.name, free.name, fixed.name,
                              (new if old.wrapped else old).reason), *where)
        if old.hash == new.hash:
            continue
        if not old.wrapped or not new.wrapped:
            raise DsuError('%s changed, but its layout cannot change in a patch: %s'
                           % (new.name, old.reason or new.reason), *where)
        sizes = plan.kept_sizes(key)
        if sizes is None:
            raise DsuError('%s changed, but the size it has in version %s was not '
                           'recorded; rebuild that version' % (new.name, a.name), *where)
        out[key] = TypeChange(key, old, new, old_unit, new_unit, sizes)
    return out


def _type_words(t):
    """Words whose presence in a function means it may use type T."""
    names = {f.name for f in t.old.fields + t.new.fields if f.name}
    return t.new.name.split()[-1], names


def _changed_enumerators(a, b):
    old, new = {}, {}
    for u in a.units:
        old.update(u.enums)
    for u in b.units:
        new.update(u.enums)
    return {name for name, value in new.items() if old.get(name, value) != value}


def _rebind(plan, changed_identity):
    enums = _changed_enumerators(plan.a, plan.b)
    b = plan.b
    type_words = [(t.name, _type_words(t)) for t in plan.types.values()]
    for link, ent in b.functions.items():
        if link in plan.functions:
            continue
        reasons = sorted(function_label(b.entity(r).name) for r in ent.refs
                         if r in changed_identity)
        body = b.unit_of[link].body(ent)
        body_words = set(_TOKEN.findall(body))
        reasons += sorted(enums & body_words)
        for cname, (word, fields) in type_words:
            # conservative: the type's name, or a member access to any of
            # its field names (old or new), may be a concrete use
            if word in body_words or any(
                    re.search(r'(\.|->)\s*%s\b' % re.escape(f), body) for f in fields):
                reasons.append(cname)
        if reasons:
            plan.functions[link] = FunctionChange(
                link, REBOUND, ent, plan.a.functions.get(link),
                'uses ' + ', '.join(reasons))


def _direct_graph(version):
    """link -> the links its code calls without a slot (analysis.facts)."""
    graph = {}
    for u in version.units:
        for link, f in u.model.facts['functions'].items():
            graph[link] = set(f.get('direct', ()))
    return graph


def _changed_inline_definitions(plan):
    """Links of functions whose inline definition (one that gives its unit
    no external definition: model.tu) changed in some unit.  Their callers
    there may have inlined the old text, and the function may have no
    external definition, hence no slot, at all: the callers are rebound."""
    old_units = {u.tu: u for u in plan.a.units}
    changed = set()
    for u in plan.b.units:
        old = old_units.get(u.tu)
        for ent in u.model.inline_definitions():
            before = old.bodies.get(ent.name) if old is not None else None
            if before is not None and before != u.body(ent):
                if ent.link not in changed and ent.link not in plan.b.functions:
                    plan.notes.append('the inline definition of %s (%s:%d) changed; it has '
                                      'no external definition: its callers are rebound'
                                      % (ent.name, ent.file, ent.line))
                changed.add(ent.link)
    return changed


def _direct_callers(plan, pairs):
    """Code of A that calls a function directly keeps calling the version
    it was built with, so a function replaced by the patch takes along
    the functions of A that call it directly, transitively; and so does a
    function whose direct calls now reach different functions (one moved
    to another unit, say), so that what runs matches B's own graph."""
    a, b = plan.a, plan.b
    ga, gb = _direct_graph(a), _direct_graph(b)
    to_b = {old: new for new, old in pairs.items() if old}

    def include(link, note):
        plan.functions[link] = FunctionChange(
            link, REBOUND, b.functions[link], a.functions.get(pairs.get(link)), note)

    for link in b.functions:
        old_link = pairs.get(link)
        if link in plan.functions or old_link not in ga:
            continue
        if {to_b.get(t, t) for t in ga[old_link]} != gb.get(link, set()):
            include(link, 'the functions it calls directly changed')
    callers = {}
    for caller, callees in ga.items():
        for callee in callees:
            callers.setdefault(callee, set()).add(caller)
    todo = [c.old.link for c in plan.functions.values() if c.old is not None]
    todo += sorted(_changed_inline_definitions(plan) - set(todo))
    seen = set(todo)
    while todo:
        old_callee = todo.pop()
        for caller in sorted(callers.get(old_callee, ())):
            link = to_b.get(caller)
            if caller in seen or link not in b.functions:
                continue
            seen.add(caller)
            if link not in plan.functions:
                callee = a.functions.get(old_callee)
                include(link, 'calls %s directly' % (callee.name if callee else old_callee))
            todo.append(caller)


def _check_types(a, b):
    """Struct, union, enum and typedef definitions must be unchanged (type
    changes need type wrapping, which this version of dsu refuses)."""
    old = {}
    for u in a.units:
        old.update(u.types)
    for u in b.units:
        for key, (text, coord) in u.types.items():
            if key in old and old[key][0] != text and not key.startswith('enum '):
                raise DsuError(
                    "%s changed; changes to data types are not supported yet: "
                    "keep the old definition and add new data in new variables"
                    % key, coord.file, coord.line)
