"""Write every object of objects06.py (and the model) with ZANJ(compat="0.6"), for
check_with_zanj06.py to read with zanj 0.6.0. Run by `nox -s interop`.

    python tests/interop/write_compat.py OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from objects06 import make_model, objects

from zanj_core import ZANJ


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    writer = ZANJ(compat="0.6")
    for name, make in objects().items():
        writer.save(make(), out / f"{name}.zanj")
    writer.save(make_model(), out / "model.zanj")
    print(f"wrote {len(objects()) + 1} files with ZANJ(compat='0.6') to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
