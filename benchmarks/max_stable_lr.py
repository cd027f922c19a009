"""How long ``max_stable_lr`` takes, at the notebooks' size and at its limit, with its written-out Hessian
against the same search on autograd's.

- autograd: ``max_stable_lr(x, k, hessian_product=...)`` with Hessian-vector products by double backward
  through the loss on ``x`` (what ``theory`` did before the Hessian was written out);
- written out: ``max_stable_lr(x, k)`` as it is (in the principal axes' coordinates, O(D k^2) a product).
Prints both times, their ratio and whether the bounds agree; then the written-out search alone at the
largest sizes it answers (``SEARCH_LIMIT`` parameters), and the refusal at MNIST's size, (1000, 784).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/max_stable_lr.py
"""

from __future__ import annotations

import time

import torch

from ae_utils.theory import SEARCH_LIMIT, max_stable_lr


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
    start = time.process_time()
    bound = max_stable_lr(x, k, hessian_product=hessian_product)
    return time.process_time() - start, bound


def uniform(samples: int, features: int) -> torch.Tensor:
    return torch.rand(samples, features, generator=torch.Generator().manual_seed(0))


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; CPU seconds")
    for shape, k in (((1000, 2), 1), ((1000, 2), 2), ((200, 20), 1), ((200, 20), 2)):
        x = uniform(*shape)
        now, bound = timed(x, k)
        before, baseline = timed(x, k, AutogradProduct(x))
        agree = abs(bound - baseline) <= 1e-6 * baseline
        print(
            f"{shape}, k = {k}: autograd {before:6.2f} s, written out {now:6.2f} s: {before / now:5.1f}x faster; "
            f"bounds {baseline:.6g} and {bound:.6g} ({'agree' if agree else 'DIFFER'} to 1e-6)"
        )
    for k in (1, 2, 3, 4):
        features = (SEARCH_LIMIT - k) // (2 * k + 1)
        now, bound = timed(uniform(1000, features), k)
        size = k * (2 * features + 1) + features
        print(f"at the limit, (1000, {features}), k = {k} ({size} parameters): written out {now:6.2f} s")
    start = time.process_time()
    try:
        max_stable_lr(uniform(1000, 784), 1)
    except ValueError as refusal:
        print(f"(1000, 784), k = 1, refused in {time.process_time() - start:.2f} s: {refusal}")


if __name__ == "__main__":
    main()
