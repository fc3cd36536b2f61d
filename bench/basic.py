"""The `basic` scenario: the README's BasicZanj saved and read in a loop, in fresh processes
alternating zanj-core, pickle and zanj 0.6 (in its own environment). Run by bench/run.py."""

from __future__ import annotations

import statistics
import sys
import tempfile

from children import run_json

# The README's small dataclass, saved and read in a loop; prints median seconds and file size.
# The third argument names the library: `python -c` puts the working directory on sys.path, so
# from the repository's root zanj 0.6's environment could import zanj_core from the checkout.
BASIC_SCRIPT = """
import json, statistics, sys, time, os, warnings
warnings.simplefilter("ignore")
from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field
if sys.argv[3] == "zanj06":
    from zanj import ZANJ
    OPTIONS = {}
else:
    from zanj_core import ZANJ
    OPTIONS = {"durable": False}  # pickle does not fsync either

@serializable_dataclass
class BasicZanj(SerializableDataclass):
    a: str
    q: int = serializable_field(default=42)
    c: list[int] = serializable_field(default_factory=list)

path = os.path.join(sys.argv[1], "basic.zanj")
rounds = int(sys.argv[2])
obj = BasicZanj("hello", 42, [1, 2, 3])
z = ZANJ(**OPTIONS)
z.save(obj, path); z.read(path)  # warm up: plugin discovery, imports
save, read = [], []
for _ in range(rounds):
    t = time.perf_counter(); z.save(obj, path); save.append(time.perf_counter() - t)
    t = time.perf_counter(); back = z.read(path); read.append(time.perf_counter() - t)
assert back == obj
print(json.dumps({"save_s": statistics.median(save), "read_s": statistics.median(read),
                  "size_bytes": os.path.getsize(path)}))
"""


# The same object through pickle: the latency floor for a small object.
PICKLE_BASIC_SCRIPT = BASIC_SCRIPT.replace(  # checked below: the replaced text must be there
    "z = ZANJ(**OPTIONS)\nz.save(obj, path); z.read(path)",
    "import pickle\n"
    "class _P:\n"
    "    def save(self, o, p):\n"
    "        with open(p, 'wb') as fh: pickle.dump(o, fh, protocol=pickle.HIGHEST_PROTOCOL)\n"
    "    def read(self, p):\n"
    "        with open(p, 'rb') as fh: return pickle.load(fh)\n"
    "z = _P()\nz.save(obj, path); z.read(path)",
)
assert PICKLE_BASIC_SCRIPT != BASIC_SCRIPT


def measure(processes: int, rounds: int, zanj06_python: str | None) -> dict[str, object]:
    """Medians over `processes` processes of `rounds` saves and reads each."""
    with tempfile.TemporaryDirectory() as ours_dir, tempfile.TemporaryDirectory() as peer_dir:
        ours, peer, pickled = [], [], []
        for _ in range(processes):  # alternate contenders across processes
            ours.append(run_json(sys.executable, BASIC_SCRIPT, ours_dir, str(rounds), "zanj_core"))
            pickled.append(run_json(sys.executable, PICKLE_BASIC_SCRIPT, peer_dir, str(rounds), "pickle"))
            if zanj06_python:
                peer.append(run_json(zanj06_python, BASIC_SCRIPT, peer_dir, str(rounds), "zanj06"))
    result: dict[str, object] = {
        "zanj_core": {k: statistics.median(r[k] for r in ours) for k in ours[0]},
        "pickle": {k: statistics.median(r[k] for r in pickled) for k in pickled[0]},
    }
    if peer:
        result["zanj_0.6"] = {k: statistics.median(r[k] for r in peer) for k in peer[0]}
        o, p = result["zanj_core"], result["zanj_0.6"]
        assert isinstance(o, dict) and isinstance(p, dict)
        result["speedup_save_vs_zanj06"] = p["save_s"] / o["save_s"]
        result["speedup_read_vs_zanj06"] = p["read_s"] / o["read_s"]
        result["size_ratio_vs_zanj06"] = o["size_bytes"] / p["size_bytes"]
    return result
