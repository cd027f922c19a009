# ruff: noqa: E501 (a table of source lines, each mutant on one line)
"""Mutant set 3: 40 plausible one-line bugs in ae_utils, written from the package's code (commit 45fdda0) before
reading its tests; 39 were killed by the unit tests, and the survivor (C4) by a test added for it. W1 and W2 were
rewritten when the code they mutated (the sliders' drawing functions) moved into notebooks 01 and 02, P3 when
principal_angles moved into notebook 04, and D3, T3 and M1 when the code they mutated changed. Each entry: (id, module, old text, new text, what it breaks). Run by
tools/mutation_check.py."""

MUTANTS = [
    # checks (6)
    (
        "C1",
        "checks",
        "    if value < minimum:\n",
        "    if value <= minimum:\n",
        "whole_number: `value < minimum` -> `value <= minimum`",
    ),
    (
        "C2",
        "checks",
        "    if data.ndim < 2 or data.shape[0] < 1:\n",
        "    if data.ndim < 2:\n",
        "training_data: dropped `or data.shape[0] < 1` (zero samples accepted)",
    ),
    (
        "C3",
        "checks",
        "    if math.isfinite(lr) and lr > 0:\n",
        "    if math.isfinite(lr) and lr >= 0:\n",
        "learning_rate_problem: `lr > 0` -> `lr >= 0`",
    ),
    (
        "C4",
        "checks",
        "    if ids and not any(id(p) in ids for p in tensors):\n",
        "    if ids and not all(id(p) in ids for p in tensors):\n",
        "optimizer: `not any(id(p) in ids ...)` -> `not all(...)`",
    ),
    ("C5", "checks", "    if k > dim:\n", "    if k >= dim:\n", "bottleneck_width: `k > dim` -> `k >= dim`"),
    (
        "C6",
        "checks",
        '            f"{what}. Give both one dtype: convert the data with {name}.{to_model}, "\n',
        '            f"{what}. Give both one dtype: convert the data with {name}.{to_data}, "\n',
        "_mismatch message: data conversion `{to_model}` -> `{to_data}`",
    ),
    # data (7)
    (
        "D1",
        "data",
        "    x[:, 1] = 0.5 * x[:, 0] + x[:, 1]\n",
        "    x[:, 1] = 0.5 * x[:, 1] + x[:, 1]\n",
        "correlated_data: `0.5 * x[:, 0]` -> `0.5 * x[:, 1]`",
    ),
    ("D2", "data", ".div_(255)", ".div_(256)", "load_images: `.div_(255)` -> `.div_(256)`"),
    (
        "D3",
        "data",
        "    header = 4 + 4 * raw[3]",
        "    header = 4 + 4 * raw[2]",
        "_decode_idx: header length from the type byte, not the number of dimensions",
    ),
    (
        "D4",
        "data",
        "    if owner is not None and owner[0] != name:\n",
        "    if owner is not None and owner[1] != name:\n",
        "_checked_bytes: `owner[0] != name` -> `owner[1] != name`",
    ),
    (
        "D5",
        "data",
        "                    new_folder.rmdir()\n",
        "                    pass\n",
        "_download finally: dropped `new_folder.rmdir()`",
    ),
    (
        "D6",
        "data",
        "    as_bytes = pixels.round().clamp(0, 255)\n",
        "    as_bytes = pixels.round()\n",
        "_as_bytes: dropped `.clamp(0, 255)`",
    ),
    (
        "D7",
        "data",
        "        i = int(not_whole.nonzero()[0])\n",
        "        i = int(not_whole.nonzero()[-1])\n",
        "_class_indices message: first bad index `[0]` -> `[-1]`",
    ),
    # diagnose (7)
    (
        "G1",
        "diagnose",
        "    if len(losses) < 2 or max(losses)",
        "    if len(losses) < 1 or max(losses)",
        "_loss_problem: `len(losses) < 2` -> `< 1`",
    ),
    (
        "G2",
        "diagnose",
        "                    t.grad = grad\n",
        "                    pass\n",
        "_snapshot finally: dropped `t.grad = grad` (grads not restored)",
    ),
    (
        "G3",
        "diagnose",
        '    restores += [(functools.partial(setattr, m, "training"), m.training) for m in module.modules()]\n',
        "    restores += []\n",
        "_snapshot: dropped the restore of module train/eval modes",
    ),
    (
        "G4",
        "diagnose",
        '        key = "backward_twice" if ("backward",) in this_call else "graph_reused"\n',
        '        key = "backward_twice" if ("backward",) in events else "graph_reused"\n',
        "_failure: `in this_call` -> `in events`",
    ),
    (
        "G5",
        "diagnose",
        '                found.add("cleared" if call in fresh else "step_before_backward")\n',
        '                found.add("cleared" if call not in fresh else "step_before_backward")\n',
        "_order_problems: `call in fresh` -> `call not in fresh`",
    ),
    (
        "G6",
        "diagnose",
        "    elif moved[len(losses) - 1]:",
        "    elif moved[len(losses)]:",
        "_loss_problem: `moved[len(losses) - 1]` -> `moved[len(losses)]`",
    ),
    (
        "G7",
        "diagnose",
        "first, last, steps = self.losses[0], self.losses[-1], len(self.losses) - 1\n",
        "first, last, steps = self.losses[0], self.losses[-1], len(self.losses)\n",
        "SetupReport.__str__: steps `len(losses) - 1` -> `len(losses)`",
    ),
    # training (6)
    ("T1", "training", "    if step > 1:\n", "    if step >= 1:\n", "divergence_message: `step > 1` -> `step >= 1`"),
    (
        "T2",
        "training",
        "            total += float(loss_fn(model(chunk), chunk)) * len(chunk)\n",
        "            total += float(loss_fn(model(chunk), chunk))\n",
        "evaluate: dropped `* len(chunk)`",
    ),
    (
        "T3",
        "training",
        "        module.train(was_training)\n",
        "        module.train(True)\n",
        "_evaluating: always restores train mode (not the mode the model was in)",
    ),
    (
        "T4",
        "training",
        "        if self.batch_size is None or self.batch_size >= len(self.tensor):\n",
        "        if self.batch_size is None or self.batch_size > len(self.tensor):\n",
        "_Batches.__iter__: `batch_size >= len` -> `>`",
    ),
    (
        "T5",
        "training",
        "    return History(losses=losses[:first_bad].tolist()), first_bad + 1\n",
        "    return History(losses=losses[:first_bad].tolist()), first_bad\n",
        "sgd_linear_ae: diverged_at `first_bad + 1` -> `first_bad`",
    ),
    (
        "T6",
        "training",
        "        residual.mul_(2.0 / x.numel())",
        "        residual.mul_(2.0 / len(x))",
        "sgd_linear_ae: gradient scale `2.0 / x.numel()` -> `2.0 / len(x)`",
    ),
    # theory (3)
    (
        "H1",
        "theory",
        "    scaled = float(eigenvalues[: dim - k].clamp_min(0).sum()) / dim\n",
        "    scaled = float(eigenvalues[k:].clamp_min(0).sum()) / dim\n",
        "eckart_young_floor: `eigenvalues[: dim - k]` -> `eigenvalues[k:]`",
    ),
    (
        "H2",
        "theory",
        "    scaled = float(eigenvalues[: dim - k].clamp_min(0).sum()) / dim\n",
        "    scaled = float(eigenvalues[: dim - k].sum()) / dim\n",
        "eckart_young_floor: dropped `.clamp_min(0)`",
    ),
    (
        "H3",
        "theory",
        '+ f"at most {(SEARCH_LIMIT - k) // (2 * k + 1)} features',
        '+ f"at most {SEARCH_LIMIT // (2 * k + 1)} features',
        "max_stable_lr message: `(SEARCH_LIMIT - k) // (2k+1)` -> `SEARCH_LIMIT // (2k+1)`",
    ),
    # pca (3)
    (
        "P1",
        "pca",
        "    return centred.T @ centred / x.shape[0]\n",
        "    return centred.T @ centred / (x.shape[0] - 1)\n",
        "covariance: `/ N` -> `/ (N - 1)`",
    ),
    (
        "P2",
        "pca",
        "components.gather(1, components.abs().argmax(dim=1, keepdim=True))",
        "components.gather(1, components.argmax(dim=1, keepdim=True))",
        "_largest_first: sign from `abs().argmax` -> `argmax` (dropped abs)",
    ),
    (
        "P3",
        "pca",
        "    tolerance = torch.finfo(components.dtype).eps ** 0.5 if",
        "    tolerance = torch.finfo(components.dtype).eps if",
        "pca_reconstruct: tolerance `eps ** 0.5` -> `eps` (pca's own float32 rows refused)",
    ),
    # plots (3)
    (
        "L1",
        "plots",
        "        ax.plot(range(1, len(losses) + 1), losses,",
        "        ax.plot(range(len(losses)), losses,",
        "plot_losses: x `range(1, len+1)` -> `range(len)`",
    ),
    (
        "L2",
        "plots",
        "    if floor is not None or any(label for label, _ in pairs):\n",
        "    if floor is not None and any(label for label, _ in pairs):\n",
        "plot_losses legend: `or` -> `and`",
    ),
    (
        "L3",
        "plots",
        '    if checks.number("scale", scale) <= 0:\n',
        '    if checks.number("scale", scale) < 0:\n',
        "image_grid: `scale <= 0` -> `< 0`",
    ),
    # widgets (3)
    (
        "W1",
        "widgets",
        '        control.observe(redraw, names="value")\n',
        '        control.observe(redraw, names="description")\n',
        "slider_panel: redraws on `value` -> on `description` (a moved slider no longer redraws)",
    ),
    (
        "W2",
        "widgets",
        "    plt.close(fig)\n",
        "",
        "figure_output: dropped `plt.close(fig)` (each slider move leaves a figure open)",
    ),
    (
        "W3",
        "widgets",
        "    slider = widgets.IntSlider(max=len(frames) - 1,",
        "    slider = widgets.IntSlider(max=len(frames),",
        "frame_player: slider `max=len(frames) - 1` -> `len(frames)`",
    ),
    # models (1)
    (
        "M1",
        "models",
        "        nn.Linear(256, 28 * 28),\n        *([] if logits else [nn.Sigmoid()]),\n",
        "        nn.Linear(256, 28 * 28),\n        *([nn.Sigmoid()] if logits else []),\n",
        "mlp_autoencoder: sigmoid condition swapped",
    ),
    # reproducibility (1)
    (
        "R1",
        "reproducibility",
        "    if (device.index or 0) >= count[device.type]:\n",
        "    if (device.index or 0) > count[device.type]:\n",
        "_device_from_environment: `index >= count` -> `>`",
    ),
]
