"""The `dsu` command (also `python -m dsu_tool`).

Each subcommand is one function registered with @command, which names its
arguments; the function gets the parsed arguments and returns the exit
status.  The exit statuses are a contract that scripts rely on:

    0  success (for apply: the patch is applied)
    1  internal or communication error
    2  bad usage or bad input (no such process, not an updateable program,
       unreadable or not a patch file)
    3  the process rejected the patch (the reason is printed on stderr)
    4  the process reached no update point in time (nothing was changed)
"""

import argparse
import json
import os
import sys
import time

from . import __version__
from .control import ControlError, request_apply, request_status
from .jsonout import apply_result, status_result

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_REJECTED = 3
EXIT_TIMEOUT = 4

# The runtime's answer codes, and ControlError codes, to exit statuses.
EXIT_FOR_CODE = {
    "applied": EXIT_OK,
    "bad-input": EXIT_BAD_INPUT,
    "rejected": EXIT_REJECTED,
    "timeout": EXIT_TIMEOUT,
}

_COMMANDS = []


def arg(*names, **options):
    """One argument of a subcommand, as for ArgumentParser.add_argument."""
    return names, options


def command(name, help, *args):
    """Registers the decorated function as subcommand NAME."""

    def register(func):
        _COMMANDS.append((name, help, args, func))
        return func

    return register


def _positive(what):
    """An argparse type: a whole number above 0, else 'not WHAT'."""
    def parse(text):
        try:
            n = int(text)
        except ValueError:
            n = 0
        if n <= 0:
            raise argparse.ArgumentTypeError("not %s: %r" % (what, text))
        return n
    return parse


_pid = _positive("a process id")
_jobs = _positive("a number of jobs")


def _seconds(text):
    try:
        s = float(text)
    except ValueError:
        s = -1.0
    if not s >= 0 or s == float("inf"):
        raise argparse.ArgumentTypeError("not a number of seconds: %r" % text)
    return s


def _error(message):
    print("dsu: %s" % message, file=sys.stderr)


def _fmt_us(ns):
    us = ns / 1000.0
    return "%.1f us" % us if us < 10 else "%.0f us" % us


def _exit_for(answer):
    if answer.get("ok"):
        return EXIT_OK
    return EXIT_FOR_CODE.get(answer.get("code"), EXIT_ERROR)


@command(
    "apply",
    "apply a patch to a running updateable program at its next update point",
    arg("pid", type=_pid, metavar="PID"),
    arg("patch", metavar="PATCH", help="the patch (.so) made by dsu"),
    arg(
        "--timeout",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="give up if no update point is reached within S seconds (default 10)",
    ),
    arg("--json", action="store_true", help="print the result as JSON (format 1, "
        "see the README)"),
    arg("--tree", action="store_true", help="also every live descendant of PID running "
        "the same program (a forking server's children), each at its own update point; "
        "one result per process"),
)
def cmd_apply(args):
    if args.tree:
        return _apply_tree(args)
    start = time.monotonic()
    try:
        answer = request_apply(args.pid, args.patch, args.timeout)
    except ControlError as e:
        answer = {"ok": False, "code": e.code, "reason": e.message}
    total_ms = (time.monotonic() - start) * 1000.0
    status = _exit_for(answer)
    name = os.path.basename(args.patch)
    if status == EXIT_OK:
        if not args.json:
            print(
                "applied %s to pid %d: %s -> %s (pause %s, total %.1f ms)"
                % (
                    name,
                    args.pid,
                    answer.get("from"),
                    answer.get("to"),
                    _fmt_us(answer.get("pause_ns", 0)),
                    total_ms,
                )
            )
    else:
        _error(
            "cannot apply %s to pid %d: %s"
            % (name, args.pid, answer.get("reason", answer.get("code")))
        )
    if args.json:
        print(json.dumps(apply_result(answer, args.pid, args.patch, status, total_ms)))
    return status


def _apply_tree(args):
    from .tree import apply_tree

    name = os.path.basename(args.patch)
    rows, worst = [], EXIT_OK
    for pid, answer, total_ms in apply_tree(args.pid, args.patch, args.timeout):
        status = _exit_for(answer)
        worst = max(worst, status)
        if answer.get("current"):
            line = "pid %d: already %s (forked after its parent's update)" % (
                pid, answer.get("to"))
        elif status == EXIT_OK:
            line = "pid %d: applied %s: %s -> %s (pause %s, total %.1f ms)" % (
                pid, name, answer.get("from"), answer.get("to"),
                _fmt_us(answer.get("pause_ns", 0)), total_ms)
        else:
            line = None
            _error("cannot apply %s to pid %d: %s"
                   % (name, pid, answer.get("reason", answer.get("code"))))
        if line and not args.json:
            print(line)
        row = apply_result(answer, pid, args.patch, status, total_ms)
        row["current"] = bool(answer.get("current"))
        rows.append(row)
    if args.json:
        print(json.dumps({"format": 1, "command": "apply", "tree": True,
                          "ok": worst == EXIT_OK, "exit_code": worst, "pid": args.pid,
                          "processes": rows}))
    return worst


@command(
    "status",
    "show the version and applied patches of a running updateable program",
    arg("pid", type=_pid, metavar="PID"),
    arg("--json", action="store_true", help="print the result as JSON (format 1, "
        "see the README)"),
)
def cmd_status(args):
    try:
        answer = request_status(args.pid)
    except ControlError as e:
        _error(e.message)
        status = EXIT_FOR_CODE.get(e.code, EXIT_ERROR)
        if args.json:
            print(json.dumps(status_result({"ok": False, "code": e.code, "reason": e.message},
                                           args.pid, status)))
        return status
    if args.json:
        status = _exit_for(answer)
        print(json.dumps(status_result(answer, args.pid, status)))
        return status
    if not answer.get("ok"):
        _error(answer.get("reason", "status refused"))
        return _exit_for(answer)
    print(
        "pid %d: %s %s (base %s)"
        % (
            answer["pid"],
            answer["program"],
            answer["version"],
            answer["base_version"],
        )
    )
    print("version id: %s" % answer["version_id"])
    patches = answer.get("patches", [])
    print("patches applied: %d" % len(patches))
    for p in patches:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(p["applied_at"]))
        print(
            "  %s -> %s  %s  pause %s  at %s  %s  sha256 %s"
            % (
                p["from"],
                p["to"],
                when,
                _fmt_us(p["pause_ns"]),
                p.get("update_point", "?"),
                p["path"],
                p.get("sha256", "?")[:16],
            )
        )
    if answer.get("pending"):
        print("an update is waiting for an update point")
    return EXIT_OK


@command(
    "init",
    "make an SCons project able to use the dsu tool (installs its shim "
    "under site_scons/site_tools/dsu)",
    arg("directory", nargs="?", default=".", help="the project (default: here)"),
)
def cmd_init(args):
    from .adopt import init

    try:
        done = init(args.directory)
    except OSError as e:
        _error(str(e))
        return EXIT_BAD_INPUT
    for line in done:
        print(line)
    print("now add the tool to an Environment in your SConstruct:\n"
          "    env = Environment(tools=['default', 'dsu'])\n"
          "then build with `scons dsu=1 version=v1`\n"
          "commit site_scons/site_tools/dsu/, .dsu/layouts.json (once built) and any "
          "dsu/*.xf.c;\nkeep .dsu/versions/NAME/ with each release you deploy: patches "
          "for it are built from it")
    return EXIT_OK


@command(
    "info",
    "describe a patch: the versions it joins and what it changes",
    arg("patch", metavar="PATCH"),
    arg("--html", metavar="FILE", help="write the full report for a reviewer (as `dsu "
        "report PATCH --html FILE`, from the project here) to FILE"),
)
def cmd_info(args):
    from .patchinfo import PatchInfoError, read_patch

    if args.html:
        args.project = "."
        return cmd_report(args)
    try:
        info = read_patch(args.patch)
    except PatchInfoError as e:
        _error(str(e))
        return EXIT_BAD_INPUT
    print("%s: patch of %s from %s (id %s) to %s (id %s)" % (
        args.patch, info["program"], info["from"], info["from_id"],
        info["to"], info["to_id"]))
    print("%d new definitions, %d imports, %d updated functions, %d type "
          "transformers, %d state transformers" % (
              info["ndefs"], info["nimports"], info["nupdates"],
              info.get("nxforms", 0), info.get("nstates", 0)))
    print(info["summary"])
    for t in info.get("types", []):
        print("type %s (%d bytes with its room):\n  old %s\n  new %s" % (
            t["type"], t["size"], t["old"], t["new"]))
    for line in info.get("transformers", []):
        print("transformer for %s" % line)
    return EXIT_OK


@command(
    "report",
    "a report for a reviewer before rollout: per changed function a source diff, "
    "per changed type both layouts and its transformers (hand-written parts marked), "
    "the update points where the patch can apply.  Given a recorded VERSION instead "
    "of a patch (default: the version recorded last): what a patch may change in it, "
    "each struct type updateable or fixed and each function replaceable or not, "
    "with why and where, and what each update point restricts",
    arg("patch", metavar="PATCH|VERSION", nargs="?"),
    arg("--project", default=".", metavar="DIR", help="the project whose recorded "
        "versions give the sources (default: here)"),
    arg("--html", metavar="FILE", help="write the report of a patch as one "
        "self-contained HTML page to FILE instead"),
    arg("--program", metavar="NAME", help="of a version: only this program"),
    arg("--json", action="store_true", help="of a version: print it as JSON "
        "(format 1, see the README)"),
    arg("--brief", action="store_true", help="of a version: list only what is fixed "
        "or compiled as written"),
)
def cmd_report(args):
    from .patchinfo import PatchInfoError
    from .report import make_report
    from .report.terminal import render_text

    from .progress import Progress

    if args.patch is None or (not os.path.exists(args.patch)
                              and not args.patch.endswith(".so")):
        return _version_report(args)
    # reading a large program's versions takes a while: say so on a terminal
    progress = Progress("dsu: report", stream=sys.stderr, quiet=not sys.stderr.isatty())
    try:
        report = make_report(args.patch, args.project, progress)
    except PatchInfoError as e:
        _error(str(e))
        return EXIT_BAD_INPUT
    finally:
        progress.close()
    if args.html:
        from .report.page import render_html
        from .files import write_atomic
        write_atomic(args.html, render_html(report))
        print("wrote %s" % args.html)
    else:
        sys.stdout.write(render_text(report, colour=sys.stdout.isatty()))
    return EXIT_OK


def _version_report(args):
    import json
    from .frontend.errors import DsuError
    from .report import version as vreport
    from .versions.names import check_version_name

    if args.html:
        _error("--html is for a patch; %s is not a patch file" % args.patch)
        return EXIT_BAD_INPUT
    if args.patch is not None:
        try:
            check_version_name(args.patch, "VERSION")
        except DsuError:
            _error("no patch file %s" % args.patch)
            return EXIT_BAD_INPUT
    try:
        reports = vreport.load(os.path.abspath(args.project), args.patch, args.program)
    except DsuError as e:
        _error(e.message if args.patch is None else
               "%s, and no patch file %s" % (e.message, args.patch))
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(vreport.to_json(reports)))
    else:
        sys.stdout.write(vreport.render_text(reports, show_all=not args.brief))
    return EXIT_OK


@command(
    "check",
    "say at which update points of a recorded version a patch can be applied",
    arg("patch", metavar="PATCH"),
    arg("--against", metavar="VERSION", help="the recorded version (default: the "
        "patch's base version)"),
    arg("--project", default=".", metavar="DIR", help="the project (default: here)"),
)
def cmd_check(args):
    from .analysis.updateability import safe_points
    from .patchinfo import PatchInfoError, read_patch
    from .versions.record import find_program_version

    try:
        info = read_patch(args.patch)
    except PatchInfoError as e:
        _error(str(e))
        return EXIT_BAD_INPUT
    version = args.against or info["from"]
    if args.against:
        from .frontend.errors import DsuError
        from .versions.names import check_version_name
        try:
            check_version_name(args.against, "--against")
        except DsuError as e:
            _error(str(e))
            return EXIT_BAD_INPUT
    meta = find_program_version(os.path.abspath(args.project), version, info["program"])
    if meta is None:
        _error("no recorded version %s of %s in %s" % (version, info["program"],
                                                      os.path.abspath(args.project)))
        return EXIT_BAD_INPUT
    if meta["id"] != info["from_id"]:
        print("%s against %s %s: cannot apply: the patch was built for version %s "
              "(id %s), and %s is another version (id %s); a process running %s "
              "refuses it" % (os.path.basename(args.patch), info["program"], version,
                              info["from"], info["from_id"], version, meta["id"], version))
        return EXIT_REJECTED
    types = [t["key"] for t in info.get("types", [])]
    points = meta.get("points", [])
    ok = safe_points(points, types)
    print("%s against %s %s: changes %s" % (
        os.path.basename(args.patch), info["program"], version,
        ", ".join(t.split("@")[0] for t in types) or "no data types"))
    for p in points:
        conflict = sorted(set(types) & set(p["restricted"]))
        if not conflict:
            print("  %s:%d (%s): can apply here" % (p["file"], p["line"], p["function"]))
            continue
        uses = "; ".join("%s in %s (%s:%d)" % (u["type"].split("@")[0], u["function"],
                                               u["file"], u["line"])
                         for u in p["uses"] if u["type"] in conflict)
        print("  %s:%d (%s): not here, in use: %s" % (p["file"], p["line"],
                                                     p["function"], uses))
    if not points:
        print("  (no update points recorded)")
    if points and not ok:
        print("no update point can take this patch")
        return EXIT_REJECTED
    return EXIT_OK


@command(
    "versions",
    "list the versions recorded in a project (.dsu/versions)",
    arg("directory", nargs="?", default=".", help="the project (default: here)"),
    arg("--drop", metavar="NAME", help="remove version NAME from the store (for "
        "all programs), so that the name can be recorded again"),
)
def cmd_versions(args):
    from .frontend.errors import DsuError
    from .versions.record import drop_version, list_programs

    if args.drop:
        try:
            programs = drop_version(os.path.abspath(args.directory), args.drop)
        except DsuError as e:
            _error(e.message)
            return EXIT_BAD_INPUT
        print("dropped version %s (%s)" % (args.drop, ", ".join(programs) or "no programs"))
        return EXIT_OK
    rows = list_programs(os.path.abspath(args.directory))
    if not rows:
        print("no versions recorded; build with `scons dsu=1 version=NAME`")
        return EXIT_OK
    for name, program, vid, units in rows:
        print("%-12s %-30s id %s  %d units" % (name, program, vid, units))
    return EXIT_OK


@command(
    "demo",
    "build the example server, run it and update it live twice",
    arg("--dir", help="work directory (default: a new temporary one)"),
    arg("--keep", action="store_true", help="keep the work directory"),
)
def cmd_demo(args):
    from .demo import run_demo

    return run_demo(args.dir, args.keep)


@command(
    "cc",
    "the compiler wrapper for Make and other build systems: make CC=\"dsu cc "
    "--version-name v1\" compiles C through the updateability pass, links each "
    "program of such objects with the runtime and records its version; `dsu cc "
    "--help` tells more",
    arg("--root", metavar="DIR", help="the project root (default: the nearest "
        "directory upwards holding .dsu/, else here)"),
    arg("--version-name", metavar="NAME", help="the version a link records"),
    arg("--passes", metavar="a,b", help="the passes to run (default: all)"),
    arg("command", nargs=argparse.REMAINDER, metavar="[--] [COMPILER] ARGS",
        help="the command the build system runs (COMPILER default: cc)"),
)
def cmd_cc(args):
    # main() hands `dsu cc` to the wrapper before argparse sees the
    # compiler's options; this entry is for `dsu --help` and parse_args.
    from .wrapper import main as wrapper_main

    argv = []
    for option, value in (("--root", args.root), ("--version-name", args.version_name),
                          ("--passes", args.passes)):
        if value is not None:
            argv += [option, value]
    return wrapper_main(argv + list(args.command))


@command(
    "patch",
    "build PROGRAM.A-to-B.patch.so from the recorded versions A and B of a program "
    "built with `dsu cc` (SCons projects: scons patch from=A to=B)",
    arg("program", metavar="PROGRAM", help="the program, as built"),
    arg("--from", dest="frm", required=True, metavar="A", help="the version it runs"),
    arg("--to", required=True, metavar="B", help="the version the patch makes of it"),
    arg("--root", metavar="DIR", help="the project root (default: the nearest "
        "directory upwards holding .dsu/, else here)"),
    arg("-o", "--output", metavar="FILE", help="where the patch goes (default: "
        "PROGRAM.A-to-B.patch.so next to the program)"),
    arg("--force", action="store_true", help="build it even if no update point can "
        "take it (the running program will refuse it too)"),
    arg("--full", action="store_true", help="a full replacement: every function is "
        "replaced and every constant renewed, changed or not"),
    arg("--quiet", "-q", action="store_true", help="print only the summary"),
    arg("-j", "--jobs", type=_jobs, metavar="N", help="compiles at once (default: "
        "one per processor)"),
)
def cmd_patch(args):
    from .frontend.errors import DsuError
    from .patchcmd import make_patch
    from .wrapper import find_root

    root = os.path.abspath(args.root) if args.root else find_root(".")
    try:
        out, summary = make_patch(root, args.program, args.frm, args.to, args.output,
                                  force=args.force, full=args.full, quiet=args.quiet,
                                  jobs=args.jobs)
    except DsuError as e:
        _error(str(e) if e.file else e.message)
        return EXIT_BAD_INPUT
    print(summary)
    print("wrote %s" % os.path.relpath(out))
    return EXIT_OK


class _ToolPath(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        print(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        parser.exit(EXIT_OK)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="dsu", description="Dynamic software updating for C programs."
    )
    parser.add_argument("--version", action="version", version="dsu " + __version__)
    parser.add_argument("--tool-path", action=_ToolPath, nargs=0,
                        help="print the directory that holds the dsu_tool package (the "
                        "SCons shim that `dsu init` writes uses it) and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help, args, func in _COMMANDS:
        p = sub.add_parser(name, help=help, description=help)
        for names, options in args:
            p.add_argument(*names, **options)
        p.set_defaults(func=func)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["cc"]:
        # the compiler's own options (-c, -o, --version) are not dsu's
        from .wrapper import main as wrapper_main

        return wrapper_main(argv[1:])
    args = build_parser().parse_args(argv)
    status = EXIT_ERROR
    try:
        status = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`dsu status PID | head -1`): the rest of
        # the output is dropped, without a traceback.  Python flushes
        # stdout again at exit: give it somewhere to go.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return status
