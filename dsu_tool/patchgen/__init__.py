"""The patch generator: from two recorded versions to a patch .so.

A flat pipeline of verb-named steps: load both versions (load), correlate,
compare, classify and check (diff), emit the C (emit), compile (build).
"""

from .build import build_patch  # noqa: F401
