#!/bin/sh
# ./redis-server for redis's own Tcl harness (tests/realprogs/redis_chain.py):
# starts the updateable 2.0.0 build ($DSU_REDIS_BASE) with the harness's
# arguments, applies the patches $DSU_REDIS_PATCHES in order, and only then
# shows the server's log, which the harness waits on ("ready to accept")
# and reads the server's pid from, until the server is gone.  The harness
# stops the server by that pid as it would stop its own.
log="$1.dsu.log"     # beside the harness's config file, in its tmp directory
# Started from a subshell that exits at once: the server is not a child of
# the tail below (which would leave it a zombie that tail and the harness
# take for alive when the harness stops it), and init reaps it.
pid=$( ("$DSU_REDIS_BASE" "$@" >"$log" 2>&1 & echo $!) )
n=0
until grep -q "ready to accept" "$log"; do
    if ! kill -0 "$pid" 2>/dev/null || [ $n -gt 1000 ]; then
        cat "$log"
        exit 1
    fi
    n=$((n + 1))
    sleep 0.01
done
for patch in $DSU_REDIS_PATCHES; do
    if ! "$DSU_PYTHON" -m dsu_tool apply "$pid" "$patch" >/dev/null 2>"$log.err"; then
        cat "$log" "$log.err"
        kill "$pid"
        exit 1
    fi
done
rm -f "$log.err"
exec tail -n +1 -f --pid="$pid" "$log"
