"""The version store: .dsu/versions/NAME/PROGRAM/.

For each program built with `scons dsu=1 version=NAME` it keeps what a
patch generator needs later, when the sources have moved on: every
translation unit's preprocessed text (`cc -E -dD`, self-contained) and
manifest (definitions, flags), and version.json naming them with the
version's content id.
"""
