"""`import zanj_core` stays light: no numpy, torch or pandas, no muutils dataclass machinery, and
no fsspec or tqdm unless a URL is used or a progress bar drawn."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "torch", "pandas", "polars", "pyarrow", "fsspec", "aiohttp", "s3fs", "tqdm")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_import_pulls_no_heavy_framework() -> None:
    loaded = _modules_after("import zanj_core")
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]


def test_saving_and_reading_builtins_pulls_no_heavy_framework(tmp_path: object) -> None:
    code = (
        "import zanj_core, tempfile, os\n"
        "d = tempfile.mkdtemp(); z = zanj_core.ZANJ()\n"
        "z.read(z.save({'a': [1, 2.5, (3,)], 'b': b'x' * 1000, 'l': list(range(300))}, os.path.join(d, 'x')))"
    )
    loaded = _modules_after(code)
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]
    assert "muutils.json_serialize.serializable_dataclass" not in loaded
