"""The updateability analysis (Ginseng's capability analysis), whole program.

For each update point: which wrapped struct types may be used concretely
(their fields read or written) by code that can still be running after
an update applied there.  That code is the rest of the function holding
the point and of every function that may be below it on the stack: its
callers, transitively; and, since a call that does not go through a slot
(the 'direct' pass) reaches the old version, whatever those functions
call that way, transitively.  A patch that changes one of those types must not
be applied at that point; the runtime defers it to a point where it is
safe.

The analysis follows the statements of a function's body: a frame that
made a call leading to the point from its Nth statement on can only run
its statements from the Nth on (analysis.facts: steps), and only what
they use counts; within a statement it is flow-insensitive.  It is sound for calls
through pointers: a function whose address is taken may be called by any
function that calls through a pointer or calls into a library (which may
call back).  Loop extraction (passes.loops) keeps it precise where it
matters: the body of a main loop is its own function, so a type used only
in the body is free to change at the loop head; so do continuations
(passes.continuations): what `main` does after calling the accept loop
is a function of its own, not on the stack at the loop's points.
"""


def merge(unit_facts):
    """One table of function facts for the whole program."""
    functions, taken = {}, set()
    for facts in unit_facts:
        functions.update(facts['functions'])
        taken.update(facts['address_taken'])
    return functions, taken


def callers_graph(functions, taken):
    callers = {link: set() for link in functions}
    for link, f in functions.items():
        for callee in f['calls']:
            if callee in callers:
                callers[callee].add(link)
    may_call_back = {link for link, f in functions.items() if f['indirect'] or f['external']}
    for link in taken:
        if link in callers:
            callers[link] |= may_call_back
    return callers


def update_points(unit_facts):
    """[{file, line, function, restricted: [type], uses: [{type, function,
    file, line}]}] for every update point of the program."""
    functions, taken = merge(unit_facts)
    callers = callers_graph(functions, taken)
    points = []
    for link, f in sorted(functions.items()):
        if not f['points']:
            continue
        active, todo = set(), [link]
        while todo:
            g = todo.pop()
            if g in active:
                continue
            active.add(g)
            todo.extend(callers.get(g, ()))
        entry = {g: _entry(functions[g], g == link, active, taken) for g in active}
        # old code that running code calls directly runs in full
        whole = set()
        todo = [callee for g in active for callee in _direct_after(functions[g], entry[g])]
        while todo:
            callee = todo.pop()
            if callee in functions and callee not in whole:
                whole.add(callee)
                todo.extend(functions[callee].get('direct', ()))
        uses = []
        for g in sorted(active | whole):
            after = 0 if g in whole else entry[g]
            for key, line in _uses_after(functions[g], after):
                uses.append({'type': key, 'function': functions[g]['name'],
                             'file': functions[g]['file'], 'line': line})
        restricted = sorted({u['type'] for u in uses})
        stack = certain_stack(link, callers, taken)
        for file, line in f['points']:
            points.append({'file': file, 'line': line, 'function': f['name'],
                           'restricted': restricted, 'uses': uses,
                           'stack': [{'link': g, 'function': functions[g]['name']}
                                     for g in stack]})
    return points


def _entry(f, holder, active, taken):
    """The first statement of F's body from which a frame of F may be
    below an update point whose callers are ACTIVE (facts: steps): what
    F does before it cannot run once the update is made.  0 (all of F)
    where F has no steps."""
    steps = f.get('steps')
    if not steps:
        return 0
    at = [steps['points']] if holder and steps.get('points') is not None else []
    at += [first for callee, (first, _) in steps['calls'].items() if callee in active]
    if any(t in active for t in taken):         # may call back into the active code
        at += [steps[k] for k in ('indirect', 'external') if steps.get(k) is not None]
    return min(at) if at else 0


def _direct_after(f, entry):
    """What F calls directly from its statement ENTRY on."""
    steps = f.get('steps')
    return [callee for callee in f.get('direct', ())
            if not steps or callee not in steps['calls'] or steps['calls'][callee][1] >= entry]


def _uses_after(f, entry):
    """(type, line of its first use) for each type F uses from its
    statement ENTRY on."""
    steps = f.get('steps')
    for key, lines in sorted(f['uses'].items()):
        if not steps or entry == 0:
            yield key, lines[0]
            continue
        later = [line for step, line in steps['uses'].get(key, ()) if step >= entry]
        if later:
            yield key, min(later)


def certain_stack(link, callers, taken):
    """The functions certainly running when the function LINK is: LINK,
    its caller if it has exactly one (and its address is not taken), that
    one's, and so on (innermost first)."""
    chain = [link]
    while True:
        g = chain[-1]
        up = callers.get(g, set())
        if g in taken or len(up) != 1:
            return chain
        (caller,) = up
        if caller in chain:
            return chain
        chain.append(caller)


def never_current(points, links):
    """Of the functions LINKS, those running at every update point of
    POINTS (each on the certain stack of every point): a patch that
    changes one cannot change the call that is running, so its new code
    runs only when it is called again.  {link: the chain of the first
    point from the outermost function down to it, as function names}."""
    if not points or any('stack' not in p for p in points):
        return {}
    common = set.intersection(*(set(f['link'] for f in p['stack']) for p in points))
    outer = points[0]['stack'][::-1]
    return {link: [f['function'] for f in outer[:[f['link'] for f in outer].index(link) + 1]]
            for link in links if link in common}


def blocking(points, types):
    """Why no point can take a patch changing TYPES, or None if one can."""
    types = set(types)
    if not types or not points:
        return None
    if any(not (types & set(p['restricted'])) for p in points):
        return None
    lines = []
    for p in points:
        conflict = sorted(types & set(p['restricted']))
        where = ', '.join('%s in %s (%s:%d)' % (u['type'].split('@')[0], u['function'],
                                                u['file'], u['line'])
                          for u in p['uses'] if u['type'] in conflict)
        lines.append('%s:%d (%s): used by %s' % (p['file'], p['line'], p['function'], where))
    return lines


def safe_points(points, types):
    types = set(types)
    return [p for p in points if not (types & set(p['restricted']))]
