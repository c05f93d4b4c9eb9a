"""SCons finds the dsu tool here; the tool itself lives in dsu_tool.scons."""
try:
    from dsu_tool.scons.tool import generate, exists  # noqa: F401
except ImportError:      # running from a source checkout that is not installed
    import os
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', '..'))
    from dsu_tool.scons.tool import generate, exists  # noqa: F401
