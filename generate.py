"""Sample textures from a trained network: ``python generate.py --texture RUN`` (see ``--help``)."""

import sys

from texture_nets.generate_cli import main

if __name__ == "__main__":
    sys.exit(main())
