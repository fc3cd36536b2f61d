"""The `zanj` distribution (compat/zanj): zanj 0.6's `ZANJ` and module layout over zanj-core.

What zanj 0.6.0's own unit suite checks of `ZANJ`, in this project's words: its arguments and
defaults, `meta()` and `externals_info()`, paths and folders, dataclasses and arrays round trip,
and that muutils' automatic registration leaves zanj-core's reading as it was.
`nox -s upstream` runs the 0.6 suite itself."""

from __future__ import annotations

import json
import subprocess
import sys
import types
import typing
import zipfile
from pathlib import Path
from typing import Any

import pytest

zanj = pytest.importorskip("zanj")
np = pytest.importorskip("numpy")
pytest.importorskip("zanj_numpy")

from muutils.errormode import ErrorMode  # noqa: E402
from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field  # noqa: E402
from zanj import ZANJ  # noqa: E402
from zanj.loading import LOADER_MAP  # noqa: E402

import zanj_core  # noqa: E402


@serializable_dataclass
class Basic(SerializableDataclass):
    a: str
    q: int = serializable_field(default=42)
    c: typing.List[int] = serializable_field(default_factory=list)  # noqa: UP006 (as 0.6 code writes it)


@serializable_dataclass
class Nested(SerializableDataclass):
    name: str
    basic: Basic
    val: float
    container: list[Basic] = serializable_field(default_factory=list)


@serializable_dataclass
class WithArrays(SerializableDataclass):
    name: str
    arr1: np.ndarray
    arr2: np.ndarray


TWIN_SOURCE = """
from muutils.json_serialize import SerializableDataclass, serializable_dataclass

@serializable_dataclass
class Twin(SerializableDataclass):
    v: int
"""


def _read_meta(path: Path | str) -> Any:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("__zanj_meta__.json"))


def test_the_package_has_zanj06s_modules_and_names() -> None:
    import zanj.consts
    import zanj.externals
    import zanj.loading
    import zanj.serializing
    import zanj.zanj

    assert zanj.ZANJ is zanj.zanj.ZANJ and issubclass(zanj.ZANJ, zanj_core.ZANJ)
    assert zanj.register_loader_handler is zanj.loading.register_loader_handler
    assert zanj.consts._FORMAT_KEY == "__muutils_format__" and zanj.consts._REF_KEY == "$ref"
    assert (zanj.externals.ZANJ_MAIN, zanj.externals.ZANJ_META) == ("__zanj__.json", "__zanj_meta__.json")
    for name in ("LoaderHandler", "LoadedZANJ", "LOADER_MAP", "get_item_loader", "load_item_recursive"):
        assert hasattr(zanj.loading, name), name
    for name in ("ZANJSerializerHandler", "DEFAULT_SERIALIZER_HANDLERS_ZANJ", "zanj_external_serialize"):
        assert hasattr(zanj.serializing, name), name
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        zanj.nothing  # noqa: B018


def test_zanj06_arguments_positional_and_defaults() -> None:
    z = ZANJ(ErrorMode.WARN, "list", 10, 20, False, {"k": 1})
    assert (z.error_mode, z.array_mode, z.external_array_threshold, z.external_list_threshold) == (
        "warn",
        "list",
        10,
        20,
    )
    assert z.compress is False and z.custom_settings == {"k": 1}
    default = ZANJ()
    assert default.compress is True, "zanj 0.6 deflates every member by default"
    assert (default.error_mode, default.array_mode) == ("except", "array_list_meta")
    assert ZANJ(compress=zipfile.ZIP_DEFLATED).compress is True
    with pytest.raises(ValueError, match="internal_array_mode must be one of"):
        ZANJ(internal_array_mode="pickle")
    assert ZANJ(strict=True).strict, "zanj-core's keyword options pass through"


@pytest.mark.parametrize("mode", ["list", "array_list_meta", "array_hex_meta", "array_b64_meta"])
def test_every_internal_array_mode_saves_arrays_that_read_back(mode: str, tmp_path: Path) -> None:
    data = {"name": "modes", "array": np.random.default_rng(0).random((5, 5))}
    z = ZANJ(internal_array_mode=mode)
    back = z.read(z.save(data, tmp_path / mode))
    assert back["name"] == "modes"
    np.testing.assert_array_equal(back["array"], data["array"])
    assert _read_meta(tmp_path / f"{mode}.zanj")["zanj_cfg"]["array_mode"] == mode


@pytest.mark.parametrize("threshold", [0, 10, 10_000])
@pytest.mark.parametrize("compress", [True, False])
def test_thresholds_and_compression_round_trip_exactly(threshold: int, compress: bool, tmp_path: Path) -> None:
    data = {"name": "cfg", "array": np.random.default_rng(1).random((50, 50)), "items": list(range(300))}
    z = ZANJ(external_array_threshold=threshold, compress=compress)
    path = z.save(data, tmp_path / "t")
    back = z.read(path)
    assert back["array"].dtype == data["array"].dtype and back["array"].tobytes() == data["array"].tobytes()
    assert back["items"] == data["items"]
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: info for info in archive.infolist()}
    external = [name for name in members if name.endswith(".npy")]
    assert bool(external) == (threshold <= 2500)
    for name in external:
        assert (members[name].compress_type == zipfile.ZIP_DEFLATED) == compress


def test_save_appends_the_extension_once_and_makes_folders(tmp_path: Path) -> None:
    z = ZANJ()
    written = z.save({"x": 1}, str(tmp_path / "no_ext"))
    assert written == str(tmp_path / "no_ext") + ".zanj" and Path(written).is_file()
    again = z.save({"x": 2}, str(tmp_path / "with.zanj"))
    assert again == str(tmp_path / "with.zanj")
    nested = tmp_path / "new" / "deeper" / "file.zanj"
    z.save({"x": 3}, nested)
    assert nested.is_file() and z.read(nested) == {"x": 3}


def test_reading_what_is_not_a_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ZANJ().read(tmp_path / "absent.zanj")
    (tmp_path / "folder").mkdir()
    with pytest.raises(FileNotFoundError):
        ZANJ().read(tmp_path / "folder")


def test_an_object_no_handler_takes_fails_in_except_mode(tmp_path: Path) -> None:
    from zanj.serializing import DEFAULT_SERIALIZER_HANDLERS_ZANJ

    class Opaque:
        pass

    # 0.6's catch-all takes every object (test_zanj_compat_fallback.py); without it, error_mode applies
    defaults = tuple(h for h in DEFAULT_SERIALIZER_HANDLERS_ZANJ if h.uid != "fallback")
    with pytest.raises(zanj_core.ZanjSerializationError, match="Opaque"):
        ZANJ(error_mode=ErrorMode.EXCEPT, handlers_default=defaults).save({"bad": Opaque()}, tmp_path / "x")
    assert not (tmp_path / "x.zanj").exists()


def test_meta_describes_settings_handlers_and_system() -> None:
    meta = ZANJ(external_array_threshold=7).meta()
    assert set(meta) == {"zanj_cfg", "sysinfo", "externals_info", "timestamp"}
    cfg = meta["zanj_cfg"]
    assert cfg["external_array_threshold"] == 7 and cfg["array_mode"] == "array_list_meta"
    assert {"error_mode", "external_list_threshold", "compress"} <= set(cfg)
    assert "Basic(SerializableDataclass)" in cfg["load_handlers"]
    assert cfg["load_handlers"]["Basic(SerializableDataclass)"]["source_pckg"] == __name__
    assert "numpy.ndarray:*" in cfg["serialization_handlers"]
    assert "python" in meta["sysinfo"] and isinstance(meta["timestamp"], float)
    json.dumps(meta)  # plain JSON


def test_meta_zanj_cfg_is_what_a_save_writes(tmp_path: Path) -> None:
    z = ZANJ(external_list_threshold=5, compress=False, internal_array_mode="array_hex_meta")
    written = _read_meta(z.save({"a": 1}, tmp_path / "m"))
    cfg = z.meta()["zanj_cfg"]
    assert cfg.pop("serialization_handlers") and cfg == written["zanj_cfg"]
    assert "code" not in json.dumps(cfg["load_handlers"])
    assert set(written) == {"zanj_format", "writer", "zanj_cfg", "plugins"}  # format 1.1: no inline externals


def test_files_record_the_loaders_registered_through_zanj(tmp_path: Path) -> None:
    path = ZANJ().save(Basic("x"), tmp_path / "b")
    loaders = _read_meta(path)["zanj_cfg"]["load_handlers"]
    assert {"Basic(SerializableDataclass)", "Nested(SerializableDataclass)"} <= set(loaders)
    assert "code" not in json.dumps(loaders), "no source code is written into files"


def test_json_serialize_goes_through_the_walk() -> None:
    z = ZANJ(external_array_threshold=4)
    assert z.json_serialize({"t": (1, 2), "s": "x"}) == {"t": {"__muutils_format__": "tuple", "data": [1, 2]}, "s": "x"}
    node = z.json_serialize(np.arange(10), ("big",))
    assert node["$ref"] == "big.npy", "outside a save, large data comes back as a member reference"


def test_handlers_added_to_handlers_default_are_used(tmp_path: Path) -> None:
    from muutils.json_serialize.json_serialize import SerializerHandler
    from zanj.serializing import DEFAULT_SERIALIZER_HANDLERS_ZANJ

    shout = SerializerHandler(
        check=lambda self, obj, path: isinstance(obj, str) and obj.startswith("!"),
        serialize_func=lambda self, obj, path: obj.upper(),
        uid="shout",
        desc="upper-cases strings starting with !",
    )
    z = ZANJ(handlers_default=(*DEFAULT_SERIALIZER_HANDLERS_ZANJ, shout))
    assert z.read(z.save({"a": "!hi", "b": "lo"}, tmp_path / "s")) == {"a": "!HI", "b": "lo"}
    plain = ZANJ(handlers_default=DEFAULT_SERIALIZER_HANDLERS_ZANJ)
    assert plain.handlers_pre == () and plain.read(plain.save({"a": "!hi"}, tmp_path / "p")) == {"a": "!hi"}
    with pytest.raises(TypeError, match="expected muutils or zanj_core handler records"):
        ZANJ(handlers_pre=("not a handler",))


def test_externals_are_empty_after_a_save(tmp_path: Path) -> None:
    z = ZANJ(external_array_threshold=10)
    z.save({"array": np.arange(400.0)}, tmp_path / "e")
    assert z._externals == {} and z.externals_info() == {}


@pytest.mark.parametrize(
    "instance",
    [
        Basic("hello", 42, [1, 2, 3]),
        Nested("n", Basic("b", 1, [4]), 3.14, [Basic("c1"), Basic("c2", 7, [8, 9])]),
        WithArrays("small", np.arange(10.0), np.array([True, False, True])),
        WithArrays("big", np.random.default_rng(2).random((128, 128)), np.arange(70_000, dtype=np.int16)),
    ],
    ids=["basic", "nested", "small-arrays", "big-arrays"],
)
def test_dataclasses_round_trip_exactly(instance: Any, tmp_path: Path) -> None:
    back = ZANJ().read(ZANJ().save(instance, tmp_path / "d"))
    assert type(back) is type(instance) and back == instance
    if isinstance(instance, WithArrays):
        for field in ("arr1", "arr2"):
            assert getattr(back, field).dtype == getattr(instance, field).dtype


def test_keys_sharing_a_prefix_are_separate_members(tmp_path: Path) -> None:
    for keys in (["layer.1.weight", "layer.1"], ["layer.1", "layer.1.weight"]):
        data = {key: np.random.default_rng(3).random((10, 10)) for key in keys}
        back = ZANJ().read(ZANJ(external_array_threshold=0).save(data, tmp_path / "p"))
        assert set(back) == set(keys)
        for key in keys:
            assert type(back[key]) is np.ndarray and back[key].tobytes() == data[key].tobytes()


def test_muutils_registration_lands_in_loader_map_only() -> None:
    """muutils registers every serializable dataclass through zanj.loading: the record is kept
    for 0.6's API, but zanj-core's own dataclass loader keeps reading the tag."""
    entry = LOADER_MAP["Basic(SerializableDataclass)"]
    assert entry.source_pckg == __name__ and "muutils" in entry.desc
    assert zanj_core.REGISTRY.loader_for("Basic(SerializableDataclass)").source.distribution == "zanj-core"


def test_two_dataclasses_of_one_name_still_resolve_by_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 0.6 registration goes by the bare class name; reading must still tell apart classes
    of one name in different modules, as zanj-core does."""

    def define(module_name: str) -> Any:
        module = types.ModuleType(module_name)
        monkeypatch.setitem(sys.modules, module_name, module)
        exec(TWIN_SOURCE, module.__dict__)
        return module.Twin

    first, second = define("pkg_one"), define("pkg_two")
    assert LOADER_MAP["Twin(SerializableDataclass)"].source_pckg == "pkg_two"
    back = ZANJ().read(ZANJ().save({"a": first(1), "b": second(2)}, tmp_path / "t"))
    assert type(back["a"]) is first and type(back["b"]) is second
    assert (back["a"].v, back["b"].v) == (1, 2)


def test_importing_zanj_stays_light_and_defining_dataclasses_first_works() -> None:
    """muutils imports zanj.loading while it decorates a class: that import adds no framework
    (muutils itself may import numpy; zanj imports nothing more) and no cycle."""
    code = (
        "import sys\n"
        "from muutils.json_serialize import SerializableDataclass, serializable_dataclass\n"
        "before = set(sys.modules)\n"
        "@serializable_dataclass\n"
        "class Early(SerializableDataclass):\n"
        "    x: int\n"
        "import zanj, zanj.loading\n"
        "assert 'Early(SerializableDataclass)' in zanj.loading.LOADER_MAP\n"
        "added = set(sys.modules) - before\n"
        "heavy = ('numpy', 'torch', 'pandas', 'polars', 'pyarrow', 'zanj.zanj', 'zanj.torchutil', 'zanj_numpy.arrays')\n"
        "print(sorted(m for m in heavy if m in added))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_dataclasses_defined_inside_zanj_cores_import_do_not_cycle() -> None:
    code = (
        "import zanj_core, zanj_core.plugin\n"
        "from muutils.json_serialize import SerializableDataclass, serializable_dataclass\n"
        "@serializable_dataclass\n"
        "class After(SerializableDataclass):\n"
        "    x: int\n"
        "import zanj, tempfile, os\n"
        "p = zanj_core.ZANJ().save(After(3), os.path.join(tempfile.mkdtemp(), 'a'))\n"
        "print(zanj.ZANJ().read(p) == After(3), zanj_core.ZANJ().read(p) == After(3))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"], out.stderr


def test_frames_round_trip(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("zanj_pandas")
    frames = {
        "typed": pd.DataFrame({"i": [1, 2, 3], "f": [0.1, float("nan"), 3.0], "s": ["a", "b", None]}),
        "odd names": pd.DataFrame({"with spaces": [1], "with-dashes": [2], "123start": [3], "!@#": [4]}),
        "empty": pd.DataFrame({"a": [], "b": []}),
    }
    back = ZANJ().read(ZANJ().save(frames, tmp_path / "f"))
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(back[name], frame, check_exact=True)
