"""Baselines the networks are measured against: Gatys et al.'s optimisation of the pixels on the
same objective the networks are trained with.

May import: ``objective``, torch and the top-level helpers. Never the networks or Lightning.
"""
