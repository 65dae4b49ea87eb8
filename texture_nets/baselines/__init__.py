"""Baselines the networks are measured against, each from the one example: Gatys et al.'s
optimisation of the pixels on the same objective the networks are trained with (``gatys``),
Portilla & Simoncelli's wavelet statistics through plenoptic (``ps``, the ``[ps]`` extra) and
a Spatial GAN trained on crops of the example under a time budget (``gan``).

May import: ``objective``, torch and the top-level helpers. Never the networks or Lightning.
"""
