"""Small helpers shared by the passes."""

import copy

from pycparser import c_ast

from ..codegen.records import c_string  # noqa: F401 (re-exported for the passes)


def nodes(node):
    """NODE and every node under it, in pre-order."""
    yield node
    for _, child in node.children():
        yield from nodes(child)


def calls_any(node, names):
    """Does code under NODE call one of NAMES by name?"""
    return any(isinstance(n, c_ast.FuncCall) and isinstance(n.name, c_ast.ID)
               and n.name.name in names for n in nodes(node))


def innermost(ty):
    """The TypeDecl at the bottom of a declarator chain (holds the name)."""
    while not isinstance(ty, c_ast.TypeDecl):
        ty = ty.type
    return ty


def rename_decl(decl, name):
    decl.name = name
    innermost(decl.type).declname = name


def drop_storage(decl, word):
    if decl.storage and word in decl.storage:
        decl.storage = [s for s in decl.storage if s != word]


def pointer_to(ty, name):
    """A declarator `(*name)` of type pointer-to-TY, TY copied."""
    ty = copy.deepcopy(ty)
    innermost(ty).declname = name
    return c_ast.PtrDecl([], ty)


def declaration(ty, name, storage=(), funcspec=()):
    """A Decl node declaring NAME with (a copy of) type TY."""
    ty = copy.deepcopy(ty)
    innermost(ty).declname = name
    return c_ast.Decl(name, [], [], list(storage), list(funcspec), ty, None, None)

