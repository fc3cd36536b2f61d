"""The page's plots (docs/bench/*.png), drawn with matplotlib from a run's results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from figures import DISPLAY_NAMES


def plot_scaling(result: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    sizes = sorted((key for key in result if key.isdigit()), key=int)
    contenders = list(dict.fromkeys(name for mib in sizes for name in result[mib]["times"]))
    for op in ("save", "read"):
        figure, axes = plt.subplots(figsize=(6.4, 4.4), dpi=110)
        for name in contenders:
            if op == "save" and name.endswith("_mmap"):
                continue  # saves the same file as its non-mmap row
            points = [(int(m), result[m]["times"][name][op]["median_s"]) for m in sizes if name in result[m]["times"]]
            style = "-o" if name.startswith("zanj") else "--."
            axes.plot(
                [p[0] for p in points], [p[1] for p in points], style, label=name, linewidth=2 if "zanj" in name else 1
            )
        axes.set_xscale("log", base=2)
        axes.set_xticks([int(m) for m in sizes], [f"{m} MiB" for m in sizes])
        axes.set_yscale("log")
        axes.set_xlabel("state dict size (MiB)")
        axes.set_ylabel(f"{op} time (s, median)")
        axes.set_title(f"{op}: 64 float32 tensors")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(out / f"scaling_{op}.png")
        plt.close(figure)


def plot_state_dict(results: dict[str, Any], out: Path) -> None:
    """Bar chart of the state dict: save and read time over raw, per contender (when raw ran)."""
    result = results.get("tensors")
    if not result or not result.get("ratio_to_raw"):
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratios = result["ratio_to_raw"]
    names = [n for n in ratios if n != "raw"]
    figure, axes = plt.subplots(figsize=(7.2, 4.0), dpi=110)
    width = 0.4
    positions = range(len(names))
    axes.bar([p - width / 2 for p in positions], [ratios[n]["save"] for n in names], width, label="save / raw")
    axes.bar([p + width / 2 for p in positions], [ratios[n]["read"] for n in names], width, label="read / raw")
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_yscale("log")
    axes.set_xticks(list(positions), [DISPLAY_NAMES.get(n, n) for n in names], rotation=30, ha="right")
    axes.set_ylabel("time over the raw baseline (log)")
    axes.set_title(f"{result['size']} MiB float32 state dict: time over the raw baseline")
    axes.legend()
    figure.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    figure.savefig(out / "state_dict.png")
    plt.close(figure)
