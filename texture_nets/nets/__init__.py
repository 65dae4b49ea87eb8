"""The feed-forward networks: Ulyanov et al.'s multi-scale generator, Johnson et al.'s residual
network, the wrapper that gives both one interface, and the checkpoint reader that rebuilds them.

May import: torch, ``texture_nets.errors`` and ``texture_nets.inference.bands`` (``networks``
runs the bounded-memory forward pass through it). Never Lightning, the descriptor or the
training code: generating an image needs only these modules.
"""
