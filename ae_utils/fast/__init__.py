"""Speed-only paths, each measured against the plain path it replaces and tested against it.

Nothing in the teaching core (``train`` and the modules it uses) imports this package.

- ``manual_backprop``: the gradients of a Linear-Sigmoid stack written out by hand;
  ``train_manual`` takes ``ae.train``'s steps with them. ``benchmarks/mnist_training.py``
  measures it against ``ae.train``'s autograd step with the same fused Adam: 1.04x (rounds
  1.00x to 1.07x) at one thread on an AMD EPYC with torch 2.15; on an Intel machine an
  earlier version of the benchmark gave 1.8x. Its gain is small and machine-dependent.
- ``graphed_training``: epochs on device-resident data, each step replayed from a CUDA graph
  (on a GPU; the same eager steps elsewhere): the answer's 10 epochs in 2.19 s on an H100
  against 21.9 s for ``ae.train`` with the same data on the GPU (10x; the same benchmark).
- ``linear_sgd``: full-batch SGD for the learner's linear autoencoder with its gradient written
  out, for slider panels that redraw many training runs: a slider move (1000 steps and the
  redraw) 2.9x faster than ``torch.optim.SGD`` with autograd (``benchmarks/slider_redraw.py``).
"""

from . import graphed_training, linear_sgd, manual_backprop

__all__ = ["graphed_training", "linear_sgd", "manual_backprop"]
