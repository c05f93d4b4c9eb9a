"""The program's own struct types: which are wrapped, and their layouts.

A wrapped struct keeps its fields first, exactly as written (so field
offsets, positional initialisers and the program's casts are those of the
ordinary build), followed by spare room and a version tag:

    struct T { <fields>; unsigned char __dsu_room[R];
               unsigned int __dsu_tag __attribute__((aligned(8))); };

The tag is 8-byte aligned, so a later version may add fields of up to
that alignment.  The size and the tag's offset are fixed when a type is first built and
kept in .dsu/layouts.json, so a later version of the type fits in the same
place (R shrinks as fields grow) and a patch meets the same layout in a
fresh build and in an older build patched forward.  A first build gets
room for half its size again plus 16 bytes.

Structs are not wrapped (their layout can then never change in a patch)
when they carry type attributes (packed, aligned) or DSU_FIXED, end in a
variable-length tail (`[]`, `[0]`, `[1]`), or define other tagged types
inside; nor are unions.  Nor are the structs whose layout, size or bytes
the program observes (offsetof here, and a union holding one reads its
bytes as its other members; analysis.observed for the rest), nor
those the project keeps fixed (.dsu/fixed.json, FIXED below): every unit
of a program must agree on a struct's layout.
"""

import fcntl
import json
import os

from pycparser import c_ast

from ..files import write_atomic
from ..frontend.errors import DsuError
from .ctypes import expr_text, type_hash

ROOM = '__dsu_room'
TAG = '__dsu_tag'
END = '__dsu_end'
LAYOUTS = os.path.join('.dsu', 'layouts.json')
FIXED = os.path.join('.dsu', 'fixed.json')


class StructDef:
    """A file-scope struct definition of the program's own code."""

    def __init__(self, node, key, name, typedef=None):
        self.node = node              # c_ast.Struct with decls
        self.key = key                # "struct client@net.h"
        self.name = name              # how C code names it: "struct client" / "client_t"
        self.typedef = typedef
        self.fields = list(node.decls or [])
        self.reason = None            # why it is not wrapped, or None
        self.layout = ''              # canonical text of the fields
        self.hash = ''

    @property
    def wrapped(self):
        return self.reason is None

    def tag_value(self):
        """The 32-bit tag of this layout (never 0)."""
        return int(self.hash[:8], 16) or 1


def struct_defs(unit, canon, attributes, fixed=None):
    """The unit's file-scope struct definitions of the program's own code,
    in order, keyed as in StructDef.key.  FIXED: {key: reason} of the
    structs the program keeps unwrapped (the project's fixed.json, or what
    a recorded unit was built with): they are kept here too, whatever
    this unit does with them, so that every unit agrees on their layout."""
    out = []
    tags = _tag_definitions(unit)
    for ext in unit.ast.ext:
        if not unit.is_project(ext):
            continue
        node, typedef = None, None
        if isinstance(ext, (c_ast.Typedef, c_ast.Decl)):
            ty = ext.type
            while isinstance(ty, (c_ast.PtrDecl, c_ast.ArrayDecl, c_ast.TypeDecl)):
                ty = ty.type
            if isinstance(ty, c_ast.Struct):
                node = ty
                direct = isinstance(ext.type, c_ast.TypeDecl)
                if isinstance(ext, c_ast.Typedef) and direct:
                    typedef = ext.name
        if node is None or node.decls is None:
            continue
        # one key however a unit spells the header's path ("lib/../x.h")
        file = os.path.normpath(node.coord.file if node.coord else unit.source)
        if node.name:
            d = StructDef(node, 'struct %s@%s' % (node.name, file), 'struct ' + node.name)
        elif typedef:
            d = StructDef(node, '%s@%s' % (typedef, file), typedef, typedef)
        else:
            continue                  # `struct { ... } x;`: its variable's type
        d.reason = _unwrappable(node, attributes, tags)
        d.layout = layout_text(node, canon)
        d.hash = type_hash(d.layout)
        out.append(d)
    keeper = LayoutKeeper(unit, out, canon.typedefs)
    for d in out:
        if (fixed or {}).get(d.key) is not None:
            keeper.keep(d.node, fixed[d.key])
    for node, coord, how in _observations(unit):
        keeper.keep_type(node, 'its layout is observed (%s at %s:%d)' % (
            how, coord.file, coord.line))
    for union in _unions(unit):
        for f in union.decls:
            keeper.keep_type(f.type, 'it is held by value in %s (%s:%d), whose other '
                             'members read its bytes' % (
                                 _spelled(union), union.coord.file, union.coord.line))
    for d in out:
        if d.reason is not None and _exact(d.node, attributes):
            keeper.keep(d.node, d.reason)
    return out


def _unions(unit):
    """The union definitions of the program's own code, named or not, at
    file scope, in structs and in functions."""
    found = []
    for ext in unit.ast.ext:
        if not unit.is_project(ext):
            continue
        todo = [ext]
        while todo:
            node = todo.pop()
            if isinstance(node, c_ast.Union) and node.decls:
                found.append(node)
            todo.extend(child for _, child in node.children())
    return found


# -- layouts the program observes -------------------------------------------------

class LayoutKeeper:
    """Keeps structs of DEFS unwrapped, with the ordinary build's layout:
    those whose layout the program observes (`offsetof(T, f)`,
    `&((T *)0)->f` here; sizes and bytes in analysis.observed), and every
    struct that a struct kept exactly (those, DSU_FIXED, packed or
    aligned) holds by value, down to the last level: wrapping a member
    would move the fields after it."""

    def __init__(self, unit, defs, typedefs):
        self.by_node = {id(d.node): d for d in defs}
        self.nodes = _definitions(unit)
        self.typedefs = typedefs
        self.seen = set()

    def definition(self, ty, depth=0):
        """The struct or union definition that TY is by value, or None."""
        while depth < 50:
            depth += 1
            if isinstance(ty, c_ast.TypeDecl) and isinstance(ty.type, c_ast.IdentifierType):
                names = ty.type.names
                if len(names) != 1 or names[0] not in self.typedefs:
                    return None
                ty = self.typedefs[names[0]]
            elif isinstance(ty, (c_ast.TypeDecl, c_ast.ArrayDecl, c_ast.Typename)):
                ty = ty.type
            elif isinstance(ty, (c_ast.Struct, c_ast.Union)):
                if ty.decls is None and ty.name:
                    return self.nodes.get((type(ty), ty.name))
                return ty
            else:
                return None
        return None

    def keep_type(self, ty, reason):
        """Keep the struct that type TY is by value (arrays looked
        through).  True when that unwrapped a struct."""
        return self.keep(self.definition(ty), reason)

    def keep(self, node, reason):
        """Keep the definition NODE and what it holds by value; True when
        that unwrapped a struct."""
        if node is None or id(node) in self.seen:
            return False
        self.seen.add(id(node))
        d = self.by_node.get(id(node))
        changed = False
        if d is not None and d.wrapped:
            d.reason = reason
            changed = True
        name = d.name if d is not None else _spelled(node)
        for f in node.decls or []:
            inner = self.definition(f.type)
            if inner is not None:
                changed |= self.keep(inner, 'it is held by value in %s, whose layout is '
                                     'kept (%s)' % (name, (d.reason if d is not None and
                                                          d.reason else reason)))
        return changed


def _exact(node, attributes):
    """Must NODE keep the ordinary build's layout exactly (DSU_FIXED,
    packed, aligned)?"""
    return bool(attributes.for_type(node)) if attributes is not None else False


def _spelled(node):
    kind = 'union' if isinstance(node, c_ast.Union) else 'struct'
    return '%s %s' % (kind, node.name) if node.name else 'an unnamed %s' % kind


def _definitions(unit):
    """(Struct or Union, tag) -> the definition node."""
    found = {}

    def visit(node):
        if isinstance(node, (c_ast.Struct, c_ast.Union)) and node.name and \
                node.decls is not None:
            found.setdefault((type(node), node.name), node)
        for _, child in node.children():
            visit(child)
    for ext in unit.ast.ext:
        if not isinstance(ext, c_ast.FuncDef):
            visit(ext)
    return found


def _observations(unit):
    """(type, coord, how) of each place where the program's own code
    observes a struct's layout: `offsetof(T, ...)`, `&((T *)0)->f`."""
    out = []
    for ext in unit.ast.ext:
        if not unit.is_project(ext):
            continue
        todo = [ext]
        while todo:
            node = todo.pop()
            if isinstance(node, c_ast.FuncCall) and isinstance(node.name, c_ast.ID) and \
                    node.name.name == 'offsetof' and node.args is not None and \
                    node.args.exprs and isinstance(node.args.exprs[0], c_ast.Typename):
                out.append((node.args.exprs[0].type, node.coord or node.name.coord,
                            'offsetof'))
            elif isinstance(node, c_ast.StructRef) and node.type == '->' and \
                    isinstance(node.name, c_ast.Cast) and _is_zero(node.name.expr) and \
                    isinstance(node.name.to_type.type, c_ast.PtrDecl):
                out.append((node.name.to_type.type.type, node.coord or node.name.coord,
                            'a field offset from a null pointer'))
            todo.extend(reversed([child for _, child in node.children()]))
    return out          # in source order: the first observation is named


def _is_zero(e):
    while isinstance(e, c_ast.Cast):
        e = e.expr
    return isinstance(e, c_ast.Constant) and e.value.rstrip('uUlL') in ('0', '0x0')


def _tag_definitions(unit):
    """(Struct or Union, tag) -> members, for every tagged definition."""
    tags = {}

    def visit(node):
        if isinstance(node, (c_ast.Struct, c_ast.Union)) and node.name and node.decls:
            tags[(type(node), node.name)] = node.decls
        for _, child in node.children():
            visit(child)
    for ext in unit.ast.ext:
        if not isinstance(ext, c_ast.FuncDef):
            visit(ext)
    return tags


def layout_text(node, canon):
    """Canonical text of the fields; a type defined inside a field is
    spelled out, so that a change to it changes the layout too."""
    parts = []
    for f in node.decls or []:
        bits = ':' + canon.of(f.bitsize) if f.bitsize is not None else ''
        inner = ' = ' + expr_text(f) if _defines_tag(f.type) else ''
        parts.append('%s %s%s%s' % (canon.of(f.type), f.name or '', bits, inner))
    return '{%s}' % '; '.join(parts)


def _flexible_tail(ty, tags, depth):
    """Does a member of type TY end in a variable-length tail: `[]`, or
    `[0]` / `[1]` (the struct hack of older code), or a struct ending in
    one, or a union holding one?  Code allocates such a struct with room
    for the tail and runs past its declared end: room after it would be
    overwritten.  A trailing array of any other size is an ordinary member
    (running past it is undefined behaviour in C, and gcc's own checks
    with -fstrict-flex-arrays say so too)."""
    while isinstance(ty, c_ast.TypeDecl):
        ty = ty.type
    if isinstance(ty, c_ast.ArrayDecl):
        dim = ty.dim
        return dim is None or (isinstance(dim, c_ast.Constant) and
                               dim.value.rstrip('uUlL') in ('0', '1'))
    if isinstance(ty, (c_ast.Struct, c_ast.Union)) and depth < 10:
        decls = ty.decls if ty.decls is not None else tags.get((type(ty), ty.name), [])
        if not decls:
            return False
        if isinstance(ty, c_ast.Union):
            return any(_flexible_tail(d.type, tags, depth + 1) for d in decls)
        return _flexible_tail(decls[-1].type, tags, depth + 1)
    return False


def _unwrappable(node, attributes, tags=None):
    tags = tags or {}
    attrs = attributes.for_type(node) if attributes is not None else []
    if any('__dsu_fixed__' in a for a in attrs):
        return 'it is marked DSU_FIXED'
    if attrs:
        return 'it has type attributes (%s)' % ' '.join(attrs)
    fields = node.decls or []
    if not fields:
        return 'it has no fields'
    if _flexible_tail(fields[-1].type, tags, 0):
        last = fields[-1]
        return ('it ends in a variable-length member (%s at %s:%d), which code '
                'allocates past the end of the struct' % (
                    last.name or 'an unnamed member',
                    last.coord.file if last.coord else '?',
                    last.coord.line if last.coord else 0))
    for f in fields:
        if _defines_tag(f.type):
            return 'it defines another tagged type inside'
    return None


def _defines_tag(ty):
    while ty is not None and not isinstance(ty, (c_ast.IdentifierType, str)):
        if isinstance(ty, (c_ast.Struct, c_ast.Union, c_ast.Enum)):
            return ty.name is not None and (
                getattr(ty, 'decls', None) is not None or getattr(ty, 'values', None) is not None)
        ty = getattr(ty, 'type', None)
    return False


# -- the project's tables: kept sizes, structs kept unwrapped ------------------

class _Table:
    """A project file that later builds depend on (layouts.json,
    fixed.json): a JSON table {struct key: entry}.  Units compile in
    parallel, so it is changed under a lock on a file beside it, and
    replaced by a rename: a build interrupted there leaves the old file,
    and readers never see a half-written one.  A file that is there but
    unreadable stops the build: taking it as empty would give structs
    other layouts than the running programs have."""

    def __init__(self, name, field, ftype, holds, remedy):
        self.name, self.field, self.ftype = name, field, ftype
        self.holds, self.remedy = holds, remedy

    def read(self, root):
        path = os.path.join(root, self.name)
        try:
            with open(path) as f:
                text = f.read()
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise DsuError('cannot read %s: %s' % (path, e.strerror))
        try:
            known = json.loads(text)
        except ValueError as e:
            known = e
        if not isinstance(known, dict) or not all(
                isinstance(v, dict) and isinstance(v.get(self.field), self.ftype)
                for v in known.values()):
            raise DsuError(
                '%s is corrupt (%s): it holds %s, which later builds must keep; restore '
                'it from version control or a backup (%s)'
                % (path, known if isinstance(known, ValueError) else 'not a table of structs',
                   self.holds, self.remedy))
        return known

    def update(self, root, change):
        """CHANGE(known table) changes it in place and returns whether it
        did; the table is written only then.  Returns what CHANGE did."""
        path = os.path.join(root, self.name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + '.lock', 'a') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            known = self.read(root)
            changed = change(known)
            if changed:
                write_atomic(path, json.dumps(known, indent=1, sort_keys=True) + '\n')
        return changed


_LAYOUTS = _Table(LAYOUTS, 'size', int, 'the sizes of the wrapped structs',
                  'each recorded version has a copy of its units\' layouts in '
                  '.dsu/versions/NAME/PROGRAM/units/*.json, key "structs"')
_FIXED = _Table(FIXED, 'reason', str, 'the structs the program keeps unwrapped',
                'each recorded version has the reasons in '
                '.dsu/versions/NAME/PROGRAM/units/*.json, key "structs"')


def load_layouts(root):
    return _LAYOUTS.read(root)


def record_layouts(root, measured):
    """Add or update entries {key: {size, tag_offset}}."""
    def change(known):
        new = {k: v for k, v in measured.items() if known.get(k) != v}
        known.update(new)
        return bool(new)
    _LAYOUTS.update(root, change)


def fixed_of(manifest):
    """{key: reason} of the structs a recorded unit was built with
    unwrapped: a patch sees the unit as it was built."""
    return {s['key']: s['reason'] for s in manifest.get('structs', [])
            if not s.get('wrapped') and s.get('reason')}


def load_fixed(root):
    """{key: reason} of the structs the project keeps unwrapped."""
    return {k: v['reason'] for k, v in _FIXED.read(root).items()}


def record_fixed(root, structs):
    """Add the structs STRUCTS (manifest entries: key, name, reason, file,
    line) that are not wrapped to the project's fixed.json.  A struct once
    there stays there, with its first reason: the programs built so far
    have its ordinary layout, which later versions must keep.  Returns
    the keys that were new."""
    new = {s['key']: {'name': s['name'], 'reason': s['reason'], 'file': s['file'],
                      'line': s['line']} for s in structs if not s['wrapped']}
    if not new:
        return []

    def change(known):
        added = [k for k in new if k not in known]
        known.update((k, new[k]) for k in added)
        return added
    return _FIXED.update(root, change)


def room_expression(d, fields_text, kept):
    """C expression for the room of D so that the tag lands at the kept
    offset when the fields fit, else half the fields' size again + 16."""
    end = '__builtin_offsetof(struct { %s unsigned char %s; }, %s)' % (
        fields_text, END, END)
    grow = '(%s / 2 + 16)' % end
    if kept is None:
        return grow
    off = kept['tag_offset']
    return '((%d >= %s) ? (%d - %s) : %s)' % (off, end, off, end, grow)
