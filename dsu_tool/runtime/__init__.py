"""The C runtime linked into updateable programs: include/dsu.h is public."""
