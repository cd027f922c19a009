"""Words of prose and cells per notebook, for the main path, the optional section and the exercises.

A notebook's main path runs up to its first heading ``## Going deeper`` (the optional section)
or ``## Exercises``; each part runs to the next of those headings. Words are the markdown
cells' whitespace-separated words.

    .venv/bin/python tools/notebook_words.py [notebooks/*.ipynb]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PARTS = {"## Going deeper": "optional", "## Exercises": "exercises"}


def parts(path: Path) -> dict[str, dict[str, int]]:
    """{part: {"cells": n, "words": n}} for the notebook at ``path``."""
    counts = {name: {"cells": 0, "words": 0} for name in ("main", *PARTS.values())}
    part = "main"
    for cell in json.loads(path.read_text())["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            part = next((name for heading, name in PARTS.items() if text.startswith(heading)), part)
            counts[part]["words"] += len(text.split())
        counts[part]["cells"] += 1
    return counts


def main(paths: list[str]) -> None:
    files = [Path(p) for p in paths] or sorted(Path("notebooks").glob("*.ipynb"))
    print(
        f"{'notebook':<48} {'main words':>10} {'cells':>6} {'optional words':>14} {'cells':>6} "
        f"{'exercise words':>14} {'cells':>6}"
    )
    totals = {name: {"cells": 0, "words": 0} for name in ("main", *PARTS.values())}
    for path in files:
        counts = parts(path)
        row = [
            f"{counts[n]['words']:>{w},} {counts[n]['cells']:>6}"
            for n, w in (("main", 10), ("optional", 14), ("exercises", 14))
        ]
        print(f"{path.name:<48} " + " ".join(row))
        for name, c in counts.items():
            totals[name]["cells"] += c["cells"]
            totals[name]["words"] += c["words"]
    row = [
        f"{totals[n]['words']:>{w},} {totals[n]['cells']:>6}"
        for n, w in (("main", 10), ("optional", 14), ("exercises", 14))
    ]
    print(f"{'all':<48} " + " ".join(row))


if __name__ == "__main__":
    main(sys.argv[1:])
