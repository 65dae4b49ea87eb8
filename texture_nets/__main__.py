"""``python -m texture_nets COMMAND ...``: the same as the ``texture-nets`` command."""

import sys

from texture_nets.cli import main

sys.exit(main())
