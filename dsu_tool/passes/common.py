"""Small helpers shared by the passes."""

from pycparser import c_ast

from ..pickling import node_slots
from ..codegen.literals import c_string  # noqa: F401  (the passes' one escaping function)


# Calls a longjmp may come back to, after the code that followed them ran.
SETJMP_CALLS = frozenset({'setjmp', '_setjmp', 'sigsetjmp', '__sigsetjmp', '__builtin_setjmp',
                          'savectx', 'getcontext'})


def nodes(node):
    """NODE and every node under it, in pre-order."""
    yield node
    for _, child in node.children():
        yield from nodes(child)


def calls_any(node, names):
    """Does code under NODE call one of NAMES by name?"""
    return any(isinstance(n, c_ast.FuncCall) and isinstance(n.name, c_ast.ID)
               and n.name.name in names for n in nodes(node))


def is_void(ty):
    """Is TY (a function's return type, say) plain `void`?"""
    return isinstance(ty, c_ast.TypeDecl) and isinstance(ty.type, c_ast.IdentifierType) \
        and ty.type.names == ['void']


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


def copy_tree(node, attrs=None, memo=None):
    """A copy of the tree under NODE (or of a list of trees), as copy.deepcopy makes it (a node
    met twice, as pycparser shares a struct between the declarators of
    `struct s {...} a, *b;`, is copied once), several times faster: nodes
    and their lists are new, strings and source coordinates (never
    changed in place) are shared.  With ATTRS (codegen.cgen.AttributeMap)
    the copies of nodes that have attributes get them too."""
    memo = {} if memo is None else memo
    if isinstance(node, list):
        return [copy_tree(n, attrs, memo) if isinstance(n, c_ast.Node) else n for n in node]
    new = memo.get(id(node))
    if new is not None:
        return new
    cls = node.__class__
    new = memo[id(node)] = cls.__new__(cls)
    for slot in node_slots(cls):
        value = getattr(node, slot)
        if isinstance(value, c_ast.Node):
            value = copy_tree(value, attrs, memo)
        elif isinstance(value, list):
            value = [copy_tree(v, attrs, memo) if isinstance(v, c_ast.Node) else
                     (list(v) if isinstance(v, list) else v) for v in value]
        setattr(new, slot, value)
    if attrs is not None:
        attrs.copied(node, new)
    return new


def copy_type(ty, attrs=None):
    """A copy of type TY.  With ATTRS (codegen.cgen.AttributeMap), the
    copies of nodes that have attributes get them too: a parameter
    declared with `vector_size` keeps its type in the copy."""
    return copy_tree(ty, attrs)


def pointer_to(ty, name, attrs=None):
    """A declarator `(*name)` of type pointer-to-TY, TY copied."""
    ty = copy_type(ty, attrs)
    innermost(ty).declname = name
    return c_ast.PtrDecl([], ty)


def declaration(ty, name, storage=(), funcspec=(), attrs=None, fresh=False):
    """A Decl node declaring NAME with (a copy of) type TY; FRESH: TY is a
    copy already (pointer_to's), used as it is.  (A copy of a copy would
    leave ATTRS entries for nodes that die, whose ids Python reuses.)"""
    ty = ty if fresh else copy_type(ty, attrs)
    innermost(ty).declname = name
    return c_ast.Decl(name, [], [], list(storage), list(funcspec), ty, None, None)

