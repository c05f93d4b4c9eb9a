"""What each function of a unit does that the updateability analysis needs.

Collected by a read-only walk of the unit (after loop extraction, before
the passes rename anything), per function, by link name:

  uses      wrapped struct -> lines where the function reads or writes one
            of its fields (the concrete uses that in-place conversion
            would break in code that keeps running)
  calls     link names of program functions it calls by name
  direct    those of them the program calls without going through a
            slot (functions of the same unit, with the 'direct' pass):
            code already running keeps calling their old version (and
            the unit's inline definitions, which have no slot here).  A
            function that holds an update point, or calls one in its
            unit, has none: it is the code most likely to be running
            when an update happens, and when it calls the newest
            versions the types they use stay free to change there
  indirect  whether it calls through a pointer
  external  whether it calls a function the program does not define
            (a library function may call back any function whose address
            was taken)
  points    the update points (DSU_update() call sites) in it, and the
            starts of its quiescent regions (DSU_quiescent_begin()), where
            a patch may be installed while a thread waits: [file, line]
  steps     where in the function each of the above happens, for a
            function whose body is more than one statement: by the index
            of the statement of the body that holds it.  Control never
            goes back to an earlier statement of the body (a function with
            a goto backwards across them, or that calls setjmp, has no
            steps), so once a frame of the function has made a call that
            leads to an update point, only what the statements from there
            on do can still run in it (analysis.updateability):
              points    the first statement holding one of its points
              calls     callee -> [first, last] statement calling it
              indirect  first statement calling through a pointer
              external  first statement calling a library function that
                        may call back
              uses      wrapped struct -> [[statement, line]], the first
                        use in each statement that uses it

and, for the unit, the functions whose address is taken, and the static
functions called directly from exactly one place and never taken
(`called_once`): gcc inlines such a function into its only caller in the
ordinary build, and would not if the slot took its body's address, so
the pass gives the slot a copy of its own (passes.indirect).
"""

from collections import Counter

from pycparser import c_ast

from ..codegen.cgen import functions_named
from ..model.tu import FUNC, called_directly, user_function
from ..model.typing import Typer
from ..passes.binder import Rewriter
from ..passes.common import SETJMP_CALLS

UPDATE_POINT = 'dsu__update_point'
QUIESCENT_POINT = 'dsu__quiescent_begin'

# Library functions that never call a function of the program (they take
# no function pointer and run no handler the program registered; not
# stdio on a FILE, which may be a fopencookie stream of the program's
# functions, nor qsort, pthread_once, atexit ... that take one): a call
# to one does not make the caller a possible caller of every function
# whose address is taken.  Without this, every function that locks a
# mutex would count as below the update point of each thread's start
# routine (whose address is always taken), and no type it uses could
# change there.
NO_CALLBACK = frozenset('''
    pthread_mutex_lock pthread_mutex_unlock pthread_mutex_trylock
    pthread_mutex_timedlock pthread_cond_wait pthread_cond_timedwait
    pthread_cond_signal pthread_cond_broadcast pthread_rwlock_rdlock
    pthread_rwlock_wrlock pthread_rwlock_unlock pthread_spin_lock
    pthread_spin_unlock pthread_self pthread_equal pthread_getspecific
    pthread_setspecific sem_wait sem_post sem_timedwait sem_trywait
    malloc calloc realloc free strdup strndup
    memcpy memmove memset memcmp memchr strlen strnlen strcmp strncmp strcpy
    strncpy strcat strncat strchr strrchr strstr strspn strcspn
    sprintf snprintf vsprintf vsnprintf sscanf vsscanf
    atoi atol atoll strtol strtoul strtoll strtoull strtod
    read write pread pwrite readv writev send recv sendto recvfrom sendmsg
    recvmsg poll ppoll select epoll_wait accept accept4 connect close open
    clock_gettime gettimeofday time nanosleep usleep sleep getpid
'''.split())


class FactsWalker(Rewriter):
    def __init__(self, unit, model, direct):
        super().__init__()
        self.model, self.direct = model, direct
        self.typer = Typer(unit, model.typedefs, self)
        self.wrapped = {id(d.node): d for d in model.structs if d.wrapped}
        self.facts = {}
        self.address_taken = set()
        self.roots = set()
        self.current = None
        self.current_link = None
        self.direct_sites = []          # (caller, callee) of each direct call
        self.step = 0                   # the statement of the body being walked
        self.step_of = {}               # id(statement of the body) -> its index

    def walk(self, unit):
        for ext in unit.ast.ext:
            if unit.is_project(ext) and isinstance(ext, c_ast.FuncDef):
                ent = self.model.entities.get(ext.decl.name)
                if ent is None:
                    continue
                self.current_link = ent.link
                self.current = self.facts.setdefault(ent.link, {
                    'name': user_function(ent.name), 'file': ent.file, 'line': ent.line,
                    'uses': {}, 'calls': set(), 'direct': set(), 'indirect': False,
                    'external': False, 'points': [], 'taken': set()})
                self.step, self.step_of = 0, body_steps(ext)
                if self.step_of:
                    self.current['steps'] = {'points': None, 'calls': {}, 'indirect': None,
                                             'external': None, 'uses': {}}
                self.rewrite(ext)
                self.step_of = {}
                self.current = None
            elif unit.is_project(ext):
                self.rewrite(ext)       # initialisers may take addresses
        return self

    def rewrite(self, node):
        step = self.step_of.get(id(node))
        if step is not None:
            self.step = step
        return super().rewrite(node)

    def _note(self, what, key=None, line=None):
        """Record at which statement of the body WHAT happens (see steps)."""
        steps = self.current.get('steps') if self.current is not None else None
        if steps is None:
            return
        if what == 'calls':
            first, last = steps['calls'].get(key, (self.step, self.step))
            steps['calls'][key] = (min(first, self.step), max(last, self.step))
        elif what == 'uses':
            at = steps['uses'].setdefault(key, {})
            at.setdefault(self.step, line)
        elif steps[what] is None:
            steps[what] = self.step

    def _function(self, name):
        if self.lookup(name) is not None:
            return None
        ent = self.model.entities.get(name)
        return ent if ent is not None and ent.kind == FUNC else None

    def r_FuncCall(self, node):
        callee = node.name
        if isinstance(callee, c_ast.ID) and callee.name == 'offsetof':
            return super().r_FuncCall(node)      # names members, calls nothing
        if isinstance(callee, c_ast.ID) and self.lookup(callee.name) is None:
            ent = self._function(callee.name)
            if callee.name in (UPDATE_POINT, QUIESCENT_POINT):
                self._point(node)
            elif ent is not None:
                if self.current is not None:
                    self.current['calls'].add(ent.link)
                    self._note('calls', ent.link)
                    # an inline definition is called without a slot in
                    # any case: gcc may have inlined it
                    if ent.inline_only or self.direct and called_directly(ent):
                        self.current['direct'].add(ent.link)
                        self.direct_sites.append((self.current_link, ent.link))
            elif callee.name in self.typer.file_scope and self.current is not None:
                ty = self.typer.resolve(self.typer.file_scope[callee.name])
                if isinstance(ty, c_ast.FuncDecl):
                    if callee.name not in NO_CALLBACK:
                        self.current['external'] = True
                        self._note('external')
                else:
                    self.current['indirect'] = True      # a global function pointer
                    self._note('indirect')
        else:
            if self.current is not None:
                self.current['indirect'] = True
                self._note('indirect')
            node.name = self.rewrite(node.name)
        if node.args is not None:
            self.rewrite(node.args)
        return node

    def _point(self, node):
        args = node.args.exprs if node.args is not None else []
        if self.current is None or len(args) != 2 or not all(
                isinstance(a, c_ast.Constant) for a in args):
            return
        file = args[0].value[1:-1].encode().decode('unicode_escape')
        self.current['points'].append([file, int(args[1].value.rstrip('uUlL'))])
        self._note('points')

    def r_ID(self, node):
        ent = self._function(node.name)
        if ent is not None:
            self.address_taken.add(ent.link)
            if self.current is not None:
                self.current['taken'].add(ent.link)
            else:
                self.roots.add(ent.link)      # in a global's initialiser
        return node

    def r_Decl(self, node):
        # `__attribute__((cleanup(f)))` calls f when the variable goes out
        # of scope, through its slot (the attribute names f's stub)
        cgen = getattr(self.model, 'cgen', None)
        for attr in cgen.attrs.decls.get(id(node), []) if cgen is not None else ():
            for name in functions_named(attr):
                ent = self._function(name)
                if ent is not None and self.current is not None:
                    self.current['calls'].add(ent.link)
                    self._note('calls', ent.link)    # when the block ends: not sooner
                    self.current['taken'].add(ent.link)
                elif ent is not None:
                    self.roots.add(ent.link)
        return super().r_Decl(node)

    def r_StructRef(self, node):
        base = self.typer.type_of(node.name)
        if node.type == '->':
            base = self.typer.pointee(base)
        agg = self.typer.aggregate(base)
        d = self.wrapped.get(id(agg)) if agg is not None else None
        if d is not None and self.current is not None:
            line = node.coord.line if node.coord else self.current['line']
            self.current['uses'].setdefault(d.key, []).append(line)
            self._note('uses', d.key, line)
        self.rewrite(node.name)
        return node


def unit_facts(unit, model, direct=False):
    """JSON-ready facts of one unit.  DIRECT: the 'direct' pass runs."""
    w = FactsWalker(unit, model, direct).walk(unit)
    for name, rec in (unit.as_written or {}).items():
        _as_written_facts(w, model, rec)
    around = around_points(w.facts)
    inline = {e.link for e in model.inline_definitions()}
    for link in around:
        w.facts[link]['direct'] &= inline
    sites = Counter(callee for caller, callee in w.direct_sites if caller not in around)
    statics = {e.link for e in model.functions() if e.static}
    called_once = sorted(link for link, n in sites.items()
                         if n == 1 and link in statics and link not in w.address_taken)
    functions = {}
    for link, f in w.facts.items():
        functions[link] = dict(f, calls=sorted(f['calls']), direct=sorted(f['direct']),
                               taken=sorted(f['taken']),
                               uses={k: sorted(set(v)) for k, v in f['uses'].items()})
        steps = f.get('steps')
        if steps is not None:
            functions[link]['steps'] = dict(
                steps, calls={k: list(v) for k, v in sorted(steps['calls'].items())},
                uses={k: sorted(v.items()) for k, v in sorted(steps['uses'].items())})
    return {'functions': functions, 'address_taken': sorted(w.address_taken),
            'called_once': called_once,
            'unreachable': sorted(unreachable_statics(model, functions, w.roots))}


def _as_written_facts(w, model, rec):
    """A function compiled as written (frontend.aswritten) has no AST to
    walk: what it may do is read from its tokens, conservatively.  It
    may call, or take the address of, any function it names; it calls
    through pointers and into libraries; it holds the update points
    written in it."""
    ent = model.entities.get(rec.name)
    if ent is None or ent.link not in w.facts:
        return
    f = w.facts[ent.link]
    named = {e.link for e in (model.entities.get(n) for n in rec.names)
             if e is not None and e.kind == FUNC}
    f['calls'] |= named
    f['taken'] |= named
    w.address_taken |= named
    f['direct'] |= {e.link for e in model.inline_definitions() if e.link in named}
    f['indirect'] = f['external'] = True
    toks = rec.span.toks
    for k, t in enumerate(toks[:-4]):
        if t.text == UPDATE_POINT and toks[k + 1].text == '(' and \
                toks[k + 2].kind == 'str' and toks[k + 4].kind == 'num':
            file = toks[k + 2].text[1:-1].encode().decode('unicode_escape')
            f['points'].append([file, int(toks[k + 4].text.rstrip('uUlL'))])


def body_steps(func):
    """id(statement) -> its index, for the statements of FUNC's body; empty
    when the body is one statement, or when control may go back to an
    earlier statement: a goto to a label of an earlier one, setjmp."""
    items = func.body.block_items or [] if func.body is not None else []
    if len(items) < 2:
        return {}
    labels, gotos = {}, []
    for k, item in enumerate(items):
        todo = [item]
        while todo:                     # iterative: blocks nest deeply
            n = todo.pop()
            if isinstance(n, c_ast.Label):
                labels[n.name] = k
            elif isinstance(n, c_ast.Goto):
                gotos.append((n.name, k))
            elif isinstance(n, c_ast.FuncCall) and isinstance(n.name, c_ast.ID) \
                    and n.name.name in SETJMP_CALLS:
                return {}
            todo.extend(child for _, child in n.children())
    if any(labels.get(name, k) < k for name, k in gotos):
        return {}
    return {id(item): k for k, item in enumerate(items)}


def around_points(facts):
    """The functions of the unit that hold an update point or call, in
    the unit, one that does (transitively)."""
    callers = {}
    for link, f in facts.items():
        for callee in f['calls']:
            callers.setdefault(callee, set()).add(link)
    todo = [link for link, f in facts.items() if f['points']]
    seen = set(todo)
    while todo:
        for caller in callers.get(todo.pop(), ()):
            if caller not in seen:
                seen.add(caller)
                todo.append(caller)
    return seen


def unreachable_statics(model, functions, roots):
    """Static functions no code of the unit can reach: not called or
    taken by any function that is itself reachable from a global one or
    from a global's initialiser.  gcc drops them from the ordinary build;
    the pass leaves them plain (no slot, no table entry) so it does too."""
    todo = [e.link for e in model.functions() if not e.static] + sorted(roots)
    seen = set()
    while todo:
        link = todo.pop()
        if link in seen:
            continue
        seen.add(link)
        f = functions.get(link)
        if f is not None:
            todo.extend(f['calls'])
            todo.extend(f['taken'])
    return {e.link for e in model.functions() if e.static and e.link not in seen}
