"""Benchmarks: each prints a table and writes JSON/Markdown under benchmarks/results/."""
