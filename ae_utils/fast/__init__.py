"""Speed-only paths, each measured against the plain path it replaces and tested against it.

Nothing in the teaching core (``train`` and the modules it uses) imports this package.

- ``manual_backprop``: the gradients of a Linear-Sigmoid stack written out by hand;
  ``train_manual`` takes ``ae.train``'s steps with them (a faster CPU step;
  ``benchmarks/mnist_training.py`` measures it against ``ae.train``).
- ``graphed_training``: epochs on device-resident data, each step replayed from a CUDA graph
  (on a GPU; the same eager steps elsewhere).
- ``linear_sgd``: full-batch SGD for the learner's linear autoencoder with its gradient written
  out, for slider panels that redraw many training runs (``benchmarks/slider_redraw.py``).
"""

from . import graphed_training, linear_sgd, manual_backprop

__all__ = ["graphed_training", "linear_sgd", "manual_backprop"]
