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

The analysis is flow-insensitive per function (a use anywhere in an
active function counts, not only after the point) and sound for calls
through pointers: a function whose address is taken may be called by any
function that calls through a pointer or calls into a library (which may
call back).  Loop extraction (passes.loops) keeps it precise where it
matters: the body of a main loop is its own function, so a type used only
in the body is free to change at the loop head.
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
        todo = list(active)
        while todo:         # old code that active code calls directly
            for callee in functions[todo.pop()].get('direct', ()):
                if callee in functions and callee not in active:
                    active.add(callee)
                    todo.append(callee)
        uses = []
        for g in sorted(active):
            for key, lines in sorted(functions[g]['uses'].items()):
                uses.append({'type': key, 'function': functions[g]['name'],
                             'file': functions[g]['file'], 'line': lines[0]})
        restricted = sorted({u['type'] for u in uses})
        stack = certain_stack(link, callers, taken)
        for file, line in f['points']:
            points.append({'file': file, 'line': line, 'function': f['name'],
                           'restricted': restricted, 'uses': uses,
                           'stack': [{'link': g, 'function': functions[g]['name']}
                                     for g in stack]})
    return points


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
