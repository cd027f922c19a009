"""Speed measurements, run by hand from the repository root (``python -m benchmarks.mnist_training``).

A package so that ``tests/`` can import and test the code the measurements rely on
(``graphed_training``; the floor and the epoch parts of ``mnist_training``).
"""
