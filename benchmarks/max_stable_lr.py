"""How long ``max_stable_lr`` takes with its written-out Hessian, against the same search on autograd's.

Side by side in one process, on uniform random data:
- autograd: ``max_stable_lr(x, k, hessian_product=...)`` with the Hessian-vector products from
  autograd (double backward), as ``theory`` differentiated before;
- written out: ``max_stable_lr(x, k)`` as it is (the Hessian in the principal axes' coordinates,
  where each product costs O(D k^2)).
Prints each time, their ratio, and checks that both give the same bound; then the written-out
search alone at MNIST's size, (1000, 784), for k = 1 and 2 (larger k is refused).

    .venv/bin/python benchmarks/max_stable_lr.py
"""

from __future__ import annotations

import time

import torch

from ae_utils.theory import max_stable_lr


class AutogradProduct:
    """``hessian_product`` for ``max_stable_lr`` by autograd: H v of ``nn.MSELoss()`` of the linear
    autoencoder [encoder weight (D, k), its bias, decoder weight (k, D), its bias] on ``x``. The gradient's
    graph is built once per point; each batch of directions is one (batched) backward pass through it."""

    def __init__(self, x: torch.Tensor):
        self.x, self.params = x.double(), None

    def __call__(self, params: list[torch.Tensor], directions: torch.Tensor) -> torch.Tensor:
        if params is not self.params:
            self.params, self.flat = params, torch.cat([p.reshape(-1) for p in params]).requires_grad_()
            pieces = torch.split(self.flat, [p.numel() for p in params])
            w_e, b_e, w_d, b_d = (piece.reshape(p.shape) for piece, p in zip(pieces, params))
            loss = torch.mean(((self.x @ w_e + b_e) @ w_d + b_d - self.x) ** 2)
            (self.grad,) = torch.autograd.grad(loss, self.flat, create_graph=True)
        batched = len(directions) > 1
        return torch.autograd.grad(
            self.grad, self.flat, directions if batched else directions[0], retain_graph=True, is_grads_batched=batched
        )[0].reshape(directions.shape)


def timed(x: torch.Tensor, k: int, hessian_product=None) -> tuple[float, float]:
    start = time.perf_counter()
    bound = max_stable_lr(x, k, hessian_product=hessian_product)
    return time.perf_counter() - start, bound


def main() -> None:
    x = torch.rand(200, 50, generator=torch.Generator().manual_seed(0))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; data of shape {tuple(x.shape)}")
    for k in (1, 5):
        now, bound = timed(x, k)
        before, baseline = timed(x, k, AutogradProduct(x))
        agree = abs(bound - baseline) <= 1e-6 * baseline
        print(
            f"k = {k}: autograd {before:6.2f} s, written out {now:6.2f} s: {before / now:5.1f}x faster; "
            f"bounds {baseline:.6g} and {bound:.6g} ({'agree' if agree else 'DIFFER'} to 1e-6)"
        )
    mnist_sized = torch.rand(1000, 784, generator=torch.Generator().manual_seed(0))
    for k in (1, 2):
        now, bound = timed(mnist_sized, k)
        print(f"data of shape (1000, 784), k = {k}: written out {now:6.2f} s, bound {bound:.6g}")


if __name__ == "__main__":
    main()
