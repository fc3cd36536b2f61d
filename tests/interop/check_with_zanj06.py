"""Read the files write_compat.py made, with zanj 0.6.0, and compare each with the object it
holds; exit 1 on any difference. Run by `nox -s interop` in its zanj 0.6.0 environment.

    python tests/interop/check_with_zanj06.py DIR
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import torch
from objects06 import InteropNN, make_model, objects, same
from zanj import ZANJ


def main(folder: Path) -> int:
    warnings.simplefilter("ignore")  # zanj 0.6 warns about keys it does not know; values decide
    failures = 0
    for name, make in objects().items():
        try:
            back = ZANJ().read(folder / f"{name}.zanj")
            ok = same(make(), back)
            detail = "" if ok else f": read back {back!r:.300}"
        except Exception as exc:
            ok, detail = False, f": {type(exc).__name__}: {exc}"
        failures += not ok
        print(f"zanj 0.6 reads {name}: {'equal' if ok else 'DIFFERENT'}{detail}")
    reference = make_model()
    for how in ("InteropNN.read", "ZANJ().read"):
        try:
            model = (
                InteropNN.read(folder / "model.zanj") if how == "InteropNN.read" else ZANJ().read(folder / "model.zanj")
            )
            weights = zip(model.state_dict().values(), reference.state_dict().values(), strict=True)
            ok = type(model) is InteropNN and all(torch.equal(a, b) for a, b in weights)
            ok = ok and model.zanj_model_config == reference.zanj_model_config
            detail = "" if ok else f": got {type(model).__name__}"
        except Exception as exc:
            ok, detail = False, f": {type(exc).__name__}: {exc}"
        failures += not ok
        print(f"zanj 0.6 reads model via {how}: {'equal' if ok else 'DIFFERENT'}{detail}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
