"""dsu: dynamic software updating for C programs."""

__version__ = "0.1.0"
