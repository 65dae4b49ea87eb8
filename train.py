"""Train a texture network: ``python train.py --texture IMG`` (see ``--help``)."""

import sys

from texture_nets.train_cli import main

if __name__ == "__main__":
    sys.exit(main())
