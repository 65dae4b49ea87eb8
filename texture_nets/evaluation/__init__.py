"""Measuring results: the metrics (Gram distances, sliced Wasserstein, SSIM, diversity, the
structure distance of feature autocorrelations), time and memory measurement in fresh
processes, the comparison of the network with Gatys, Portilla-Simoncelli and a GAN, plots
and the report.

May import: ``objective``, ``nets``, ``inference``, ``baselines`` and the top-level helpers.
Never ``cli`` or ``app``.
"""
