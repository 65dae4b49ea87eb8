"""Sample textures (``--texture RUN``) or stylize photos (``--checkpoint RUN --content PATH``)."""

import sys

from texture_nets.cli.generate import main

if __name__ == "__main__":
    sys.exit(main())
