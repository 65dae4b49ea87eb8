"""Train a texture network (``--texture IMG``) or a stylizer (``--style IMG``); see ``--help``."""

import sys

from texture_nets.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
