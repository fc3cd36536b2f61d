"""muutils SerializableDataclass: nesting, custom fields, properties, class resolution."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import assert_identical, roundtrip
from dataclass_defs import BasicZanj, Inner, Outer, Rect
from muutils.json_serialize import SerializableDataclass, serializable_dataclass

from zanj_core import ZANJ, ZanjFormatError, ZanjMissingClassWarning, ZanjUnloaded


def test_basic_zanj_from_the_readme(zpath: Path) -> None:
    instance = BasicZanj("hello", 42, [1, 2, 3])
    recovered = roundtrip(instance, zpath)
    assert type(recovered) is BasicZanj
    assert recovered == instance and recovered.c == [1, 2, 3]


def test_basic_zanj_file_is_small_and_compact(zpath: Path) -> None:
    ZANJ().save(BasicZanj("hello", 42, [1, 2, 3]), zpath)
    assert zpath.stat().st_size < 2048
    with zipfile.ZipFile(zpath) as zf:
        meta = json.loads(zf.read("__zanj_meta__.json"))
        tree = json.loads(zf.read("__zanj__.json"))
    assert tree == {
        "__muutils_format__": "BasicZanj(SerializableDataclass)",
        "__zanj_class__": "dataclass_defs:BasicZanj",
        "a": "hello",
        "q": 42,
        "c": [1, 2, 3],
    }
    assert set(meta) == {"zanj_format", "writer", "zanj_cfg", "plugins"}  # no data members: no externals
    assert meta["plugins"]["BasicZanj(SerializableDataclass)"]["dist"] == "zanj-core"
    assert "code" not in json.dumps(meta) and "pip" not in json.dumps(meta)


def test_nested_and_lists_of_dataclasses(zpath: Path) -> None:
    obj = Outer(
        name="o",
        inner=Inner(1, ("a", "b")),
        items=[Inner(i) for i in range(3)],
        lookup={7: Inner(7, ("z",))},
        when=datetime.date(1999, 12, 31),
    )
    back = roundtrip(obj, zpath)
    assert back == obj
    assert type(back.inner) is Inner and type(back.items[2]) is Inner
    assert_identical(back.inner.tags, ("a", "b"))
    assert_identical(back.lookup, {7: Inner(7, ("z",))})


def test_list_of_many_dataclasses_goes_external(zpath: Path) -> None:
    items = [Inner(i, (str(i),)) for i in range(300)]
    back = roundtrip(items, zpath)
    assert back == items and all(type(b) is Inner for b in back)
    assert "_root.jsonl" in zipfile.ZipFile(zpath).namelist()


def test_serialization_and_loading_functions_and_properties(zpath: Path) -> None:
    rect = Rect(2.0, 3.5, datetime.timedelta(seconds=90), 2 + 3j)
    rect.cache["not"] = "saved"
    ZANJ().save(rect, zpath)
    tree = json.loads(zipfile.ZipFile(zpath).read("__zanj__.json"))
    assert tree["unit"] == 90.0 and tree["scale"] == [2.0, 3.0] and tree["area"] == 7.0
    assert "cache" not in tree
    back = ZANJ().read(zpath)
    assert back.unit == datetime.timedelta(seconds=90) and back.scale == 2 + 3j and back.cache == {}
    assert back.area == 7.0


# a child process defining two classes named Twin in different modules, and a file path
TWINS = textwrap.dedent(
    """
        import json, sys, zipfile
        from muutils.json_serialize import SerializableDataclass, serializable_dataclass
        from zanj_core import ZANJ, ZanjFormatError

        def make(module):
            @serializable_dataclass
            class Twin(SerializableDataclass):
                v: int
            Twin.__module__, Twin.__qualname__ = module, "Twin"
            return Twin

        A, B = make("pkg_a"), make("pkg_b")
        path = sys.argv[1]
    """
)


def test_two_classes_with_one_name_are_told_apart_by_module(tmp_path: Path) -> None:
    code = TWINS + textwrap.dedent(
        """
        ZANJ().save([A(1), B(2)], path)
        back = ZANJ().read(path)
        assert [type(x) for x in back] == [A, B], back
        assert [x.v for x in back] == [1, 2]
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "t.zanj")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_ambiguous_class_without_module_is_a_clear_error(tmp_path: Path) -> None:
    code = TWINS + textwrap.dedent(
        """
        with zipfile.ZipFile(path, "w") as zf:  # as zanj 0.6 writes it: no module recorded
            zf.writestr("__zanj__.json", json.dumps({"__muutils_format__": "Twin(SerializableDataclass)", "v": 1}))
        try:
            ZANJ().read(path)
        except ZanjFormatError as exc:
            print(exc)
        """
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "t.zanj")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "pkg_a:Twin" in result.stdout and "pkg_b:Twin" in result.stdout and "does not record" in result.stdout


def test_redefined_class_resolves_to_newest(zpath: Path) -> None:
    def make() -> type:
        @serializable_dataclass
        class Again(SerializableDataclass):
            v: int

        return Again

    first, second = make(), make()
    assert first is not second
    back = roundtrip(first(3), zpath)
    assert type(back) is second and back.v == 3


def test_undefined_class_warns_and_returns_raw_node(tmp_path: Path) -> None:
    # write in a child process whose class the test process never defines
    path = tmp_path / "u.zanj"
    code = textwrap.dedent(
        """
        import sys
        from muutils.json_serialize import SerializableDataclass, serializable_dataclass
        from zanj_core import ZANJ

        @serializable_dataclass
        class OnlyThere(SerializableDataclass):
            v: int

        ZANJ().save({"obj": OnlyThere(5), "other": [1, 2]}, sys.argv[1])
        """
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    with pytest.warns(ZanjMissingClassWarning, match=r"__main__:OnlyThere.*import the module"):
        back = ZANJ().read(path)
    assert back["other"] == [1, 2]
    placeholder = back["obj"]
    assert isinstance(placeholder, ZanjUnloaded)
    assert placeholder.node["v"] == 5 and placeholder.path == ("obj",)


def test_missing_required_field_is_a_format_error(zpath: Path) -> None:
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("__zanj__.json", json.dumps({"__muutils_format__": "Inner(SerializableDataclass)"}))
    with pytest.raises(ZanjFormatError, match="Inner"):
        ZANJ().read(zpath)


def test_dataclass_module_is_never_imported(tmp_path: Path) -> None:
    path = tmp_path / "evil.zanj"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "__zanj__.json",
            json.dumps({"__muutils_format__": "system(SerializableDataclass)", "__zanj_class__": "os:system", "v": 1}),
        )
    code = (
        "import sys, warnings; warnings.simplefilter('ignore');"
        "import muutils.json_serialize; from zanj_core import ZANJ; before=set(sys.modules);"
        f"r=ZANJ().read({str(path)!r}); print(type(r).__name__, sorted(set(sys.modules)-before))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    name, imported = result.stdout.split(" ", 1)
    assert name == "ZanjUnloaded"
    assert "'os'" not in imported and "subprocess" not in imported
