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
when they carry type attributes (packed, aligned) or DSU_FIXED, end in an
array (gcc lets code use a trailing array beyond its bound), or define
other tagged types inside; nor are unions.
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


def struct_defs(unit, canon, attributes):
    """The unit's file-scope struct definitions of the program's own code,
    in order, keyed as in StructDef.key."""
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
        file = node.coord.file if node.coord else unit.source
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
    keep_observed_layouts(unit, out, canon.typedefs, attributes)
    return out


# -- layouts the program observes -------------------------------------------------

def keep_observed_layouts(unit, defs, typedefs, attributes):
    """Keep unwrapped, with the ordinary build's layout, every struct of
    DEFS whose layout the unit observes (`offsetof(T, f)`, `&((T *)0)->f`),
    and every struct that a struct kept exactly (those, DSU_FIXED, packed
    or aligned) holds by value, down to the last level: wrapping a member
    would move the fields after it."""
    by_node = {id(d.node): d for d in defs}
    nodes = _definitions(unit)

    def definition(ty, depth=0):
        """The struct or union definition that TY is by value, or None."""
        while depth < 50:
            depth += 1
            if isinstance(ty, c_ast.TypeDecl) and isinstance(ty.type, c_ast.IdentifierType):
                names = ty.type.names
                if len(names) != 1 or names[0] not in typedefs:
                    return None
                ty = typedefs[names[0]]
            elif isinstance(ty, (c_ast.TypeDecl, c_ast.ArrayDecl, c_ast.Typename)):
                ty = ty.type
            elif isinstance(ty, (c_ast.Struct, c_ast.Union)):
                if ty.decls is None and ty.name:
                    return nodes.get((type(ty), ty.name))
                return ty
            else:
                return None
        return None

    def keep(node, reason, seen):
        if node is None or id(node) in seen:
            return
        seen.add(id(node))
        d = by_node.get(id(node))
        if d is not None and d.wrapped:
            d.reason = reason
        name = d.name if d is not None else _spelled(node)
        for f in node.decls or []:
            inner = definition(f.type)
            if inner is not None:
                keep(inner, 'it is held by value in %s, whose layout is kept (%s)' % (
                    name, (d.reason if d is not None and d.reason else reason)), seen)

    seen = set()
    for node, coord, how in _observations(unit):
        target = definition(node)
        if target is not None:
            keep(target, 'its layout is observed (%s at %s:%d)' % (
                how, coord.file, coord.line), seen)
    for d in defs:
        if d.reason is not None and _exact(d.node, attributes):
            keep(d.node, d.reason, seen)


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


def _ends_in_array(ty, tags, depth):
    """Does a member of type TY end in an array gcc would treat as
    trailing: an array, or a struct ending in one, or a union holding one?"""
    while isinstance(ty, c_ast.TypeDecl):
        ty = ty.type
    if isinstance(ty, c_ast.ArrayDecl):
        return True
    if isinstance(ty, (c_ast.Struct, c_ast.Union)) and depth < 10:
        decls = ty.decls if ty.decls is not None else tags.get((type(ty), ty.name), [])
        if not decls:
            return False
        if isinstance(ty, c_ast.Union):
            return any(_ends_in_array(d.type, tags, depth + 1) for d in decls)
        return _ends_in_array(decls[-1].type, tags, depth + 1)
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
    if _ends_in_array(fields[-1].type, tags, 0):
        # gcc lets code run past a trailing array (the struct hack, reading
        # into the next element); room after it would change what it reads
        return ('it ends in an array, which C code may use beyond its bound; put '
                'another field after the array to let patches change it')
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


# -- the project's record of wrapped sizes -------------------------------------

def _read_layouts(path):
    """The kept layouts in PATH ({} when there is none yet).  A file that
    is there but unreadable stops the build: it holds the sizes that every
    later version of each struct must keep, so taking it as empty would
    silently give types new layouts that running programs do not have."""
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
            isinstance(v, dict) and isinstance(v.get('size'), int) for v in known.values()):
        raise DsuError(
            '%s is corrupt (%s): it holds the sizes of the wrapped structs, which '
            'later builds must keep; restore it from version control or a backup '
            '(each recorded version has a copy of its units\' layouts in '
            '.dsu/versions/NAME/PROGRAM/units/*.json, key "structs")'
            % (path, known if isinstance(known, ValueError) else 'not a table of layouts'))
    return known


def load_layouts(root):
    return _read_layouts(os.path.join(root, LAYOUTS))


def record_layouts(root, measured):
    """Add or update entries {key: {size, tag_offset}} (units compile in
    parallel: under a lock on a file beside it).  The file is replaced by
    a rename, so that a build interrupted here leaves the old file, and
    readers never see a half-written one."""
    path = os.path.join(root, LAYOUTS)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.lock', 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        known = _read_layouts(path)
        changed = False
        for key, sizes in measured.items():
            if known.get(key) != sizes:
                known[key] = sizes
                changed = True
        if changed:
            write_atomic(path, json.dumps(known, indent=1, sort_keys=True) + '\n')


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
