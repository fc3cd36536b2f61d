"""Writes the zanj 0.6 corpus the test suite reads. Run with the original zanj installed:

    python -m venv /tmp/z06 && /tmp/z06/bin/pip install zanj==0.6.0
    /tmp/z06/bin/python tests/data/zanj06/make_corpus.py tests/data/zanj06

The classes below are mirrored in tests/test_zanj06_files.py, which checks what each file
must load to.
"""

import sys
from pathlib import Path

import numpy as np
from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field
from zanj import ZANJ


@serializable_dataclass
class Basic06(SerializableDataclass):
    a: str
    q: int = 42
    c: list[int] = serializable_field(default_factory=list)


@serializable_dataclass
class Nested06(SerializableDataclass):
    name: str
    basic: Basic06
    items: list[Basic06]
    meta: dict


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    basic = Basic06("hello", 42, [1, 2, 3])
    ZANJ().save(basic, out / "basic.zanj")
    ZANJ(compress=False).save(basic, out / "basic_stored.zanj")
    nested = Nested06("n", Basic06("x", 1, []), [Basic06("y", 2, [5]), Basic06("z", 3, [6, 7])], {"k": [1, 2]})
    ZANJ().save(nested, out / "nested.zanj")
    ZANJ().save(
        {"long": list(range(300)), "tup": tuple(range(260)), "short": [1, 2], "s": "text"}, out / "externals.zanj"
    )
    ZANJ().save(
        {"small": np.arange(10.0), "big": np.arange(1000, dtype=np.int32).reshape(10, 100)},
        out / "arrays.zanj",
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
