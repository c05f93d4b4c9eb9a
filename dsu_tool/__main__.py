"""`python -m dsu_tool` is the `dsu` command."""
import sys

from .cli import main

sys.exit(main())
