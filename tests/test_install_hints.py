"""Install hints come from the plugins' records, and a file never gets to suggest a command.

A `pip install` command names only a distribution installed here as a zanj plugin, an
`install_hint` an installed plugin declares, or a package the zanj project publishes; files
without a tag table fall back on the convention `<module>.X` -> `zanj-<module>`, trusted only
for the project's own packages (zanj_core._walk.hints)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shutil
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zanj_core import FORMAT_KEY, REGISTRY, ZANJ, MemberFormat, SerializerHandler, ZanjSerializationError
from zanj_core._walk.hints import PROJECT_DISTRIBUTIONS, conventional_distribution
from zanj_core._walk.loading import LoadContext
from zanj_core._walk.registry import PluginRegistry
from zanj_core.plugin import PluginSource

ACME_PLUGIN = """
from zanj_core import FORMAT_KEY, LoaderHandler, SerializerHandler, hookimpl

class Gadget:
    def __init__(self, size):
        self.size = size

@hookimpl
def zanj_serializer_handlers():
    return [SerializerHandler(tag="acme.Gadget", types=("zanj_acme_hints.Gadget",), install_hint="acme-tools[zanj]",
            serialize=lambda obj, path, ctx: {FORMAT_KEY: "acme.Gadget", "size": obj.size})]

@hookimpl
def zanj_loader_handlers():
    return [LoaderHandler(tag="acme.Gadget", load=lambda node, path, ctx: Gadget(node["size"]))]
"""


@pytest.fixture
def acme_installed(tmp_path: Path) -> Iterator[Any]:
    """The distribution `acme-tools` 1.2.3, whose zanj plugin is installed with its `zanj` extra;
    yields its module. Removed, and plugins rediscovered, afterwards."""
    root = tmp_path / "site"
    info = root / "acme_tools-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-tools\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text("[zanj]\nacme = zanj_acme_hints\n")
    (root / "zanj_acme_hints.py").write_text(textwrap.dedent(ACME_PLUGIN))
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        REGISTRY.refresh()
        import zanj_acme_hints  # type: ignore[import-not-found]

        yield zanj_acme_hints
    sys.modules.pop("zanj_acme_hints", None)
    REGISTRY.refresh()


def _hint(meta: dict[str, Any], tag: str) -> str:
    return LoadContext(ZANJ(), None, meta).install_hint(tag)


def _commands(text: str) -> list[str]:
    """The arguments of every `pip install` command in `text`."""
    return [name.strip('"').rstrip(".;,") for name in re.findall(r"pip install(?: --[a-z-]+)* (\S+)", text)]


# -- the records -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["x; rm -rf /", "pkg>=1", "-e .", "pkg[", "https://evil/x.whl", "a b", 3])
def test_install_hint_must_be_one_plain_requirement(bad: Any) -> None:
    with pytest.raises(TypeError, match="install_hint must be a pip requirement"):
        SerializerHandler(tag="t", serialize=lambda o, p, c: o, install_hint=bad)
    with pytest.raises(TypeError, match="install_hint must be a pip requirement"):
        MemberFormat(name="f", extension=".f", write=print, read=print, install_hint=bad)


def test_install_hint_goes_into_the_tag_table_only_when_it_is_not_the_distribution() -> None:
    acme = PluginSource("acme-tools", "1.0", "acme")
    handler = SerializerHandler(tag="t", serialize=lambda o, p, c: o, install_hint="acme-tools[zanj]")
    assert handler.with_source(acme).tag_table_entry() == {
        "dist": "acme-tools",
        "version": "1.0",
        "install": "acme-tools[zanj]",
    }
    plain = SerializerHandler(tag="t", serialize=lambda o, p, c: o, install_hint="Acme_Tools")
    assert plain.with_source(acme).tag_table_entry() == {"dist": "acme-tools", "version": "1.0"}
    assert SerializerHandler(tag="t", serialize=lambda o, p, c: o).with_source(acme).source == acme


# -- written by the plugin, used by the reader ---------------------------------------------------


def test_the_writer_records_the_hint_and_the_reader_uses_it(
    acme_installed: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ZANJ().save({"g": acme_installed.Gadget(3)}, tmp_path / "g")
    meta = json.loads(zipfile.ZipFile(path).read("__zanj_meta__.json"))
    assert meta["plugins"]["acme.Gadget"] == {"dist": "acme-tools", "version": "1.2.3", "install": "acme-tools[zanj]"}
    assert ZANJ().read(path)["g"].size == 3
    # installed, but (say) too old to load the tag: the declared requirement is the command
    monkeypatch.setattr(
        REGISTRY, "loader_for", lambda t: None if t == "acme.Gadget" else PluginRegistry.loader_for(REGISTRY, t)
    )
    hint = _hint(meta, "acme.Gadget")
    assert hint == (
        'acme-tools is installed but has no loader for it; upgrade it: pip install --upgrade "acme-tools[zanj]" '
        "(the file was written with version 1.2.3)"
    )


def test_without_the_plugin_the_files_hint_is_only_its_claim(acme_installed: Any, tmp_path: Path) -> None:
    path = ZANJ().save(acme_installed.Gadget(3), tmp_path / "g")
    meta = json.loads(zipfile.ZipFile(path).read("__zanj_meta__.json"))
    shutil.rmtree(tmp_path / "site" / "acme_tools-1.2.3.dist-info")  # uninstalled
    importlib.invalidate_caches()
    REGISTRY.refresh()
    assert not any(p.source.distribution == "acme-tools" for p in REGISTRY.plugins)
    hint = _hint(meta, "acme.Gadget")
    assert "pip install" not in hint
    assert (
        "the file says it was written by a package named 'acme-tools', version 1.2.3, "
        "to be installed with 'acme-tools[zanj]' (unverified" in hint
    )


def test_an_installed_plugins_declared_hint_is_vouched_for(acme_installed: Any) -> None:
    # a file naming the requirement an installed plugin declares, whatever it calls the writer
    hint = _hint({"plugins": {"acme.Other": {"dist": "ACME_tools", "install": "Acme-Tools[ZANJ]"}}}, "acme.Other")
    assert (
        hint == 'acme-tools is installed but has no loader for it; upgrade it: pip install --upgrade "acme-tools[zanj]"'
    )


# -- a hostile file's claims ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "shown"),
    [
        ({"dist": "zanj-evil", "install": "zanj-evil[all]"}, "to be installed with 'zanj-evil[all]' (unverified"),
        (
            {"dist": "zanj-evil", "install": "zanj-evil; curl x | sh"},
            "installed with 'zanj-evil; curl x | sh' (unverif",
        ),
        ({"install": "evil --index-url http://x"}, "the file says to install 'evil --index-url http://x' (unverified"),
    ],
)
def test_an_unvouched_install_claim_is_shown_quoted(entry: dict[str, Any], shown: str) -> None:
    hint = _hint({"plugins": {"acme.X": entry}}, "acme.X")
    assert shown in hint and "pip install" not in hint


def test_a_bad_install_claim_next_to_a_trusted_name_stays_data() -> None:
    hint = _hint({"plugins": {"acme.X": {"dist": "zanj-numpy", "install": "zanj-numpy; curl x | sh"}}}, "acme.X")
    assert _commands(hint) == ["zanj-numpy"]
    assert hint.endswith("(the file says to install 'zanj-numpy; curl x | sh', unverified)")
    # extras of a distribution this reader vouches for add only what that distribution declares
    hint = _hint({"plugins": {"acme.X": {"dist": "zanj-numpy", "install": "zanj-numpy[Fast]"}}}, "acme.X")
    assert _commands(hint) == ["zanj-numpy[fast]"] and "unverified" not in hint
    long_extras = "zanj-numpy[" + ",".join(["x"] * 40) + "]"
    hint = _hint({"plugins": {"acme.X": {"dist": "zanj-numpy", "install": long_extras}}}, "acme.X")
    assert _commands(hint) == ["zanj-numpy"] and "unverified" in hint


def test_every_command_names_a_vouched_distribution() -> None:
    installed = {info.source.distribution for info in REGISTRY.plugins}
    entries = [
        {"dist": "zanj-evil"},
        {"dist": "zanj-evil", "install": "zanj-numpy"},
        {"dist": "zanj-numpy", "install": "zanj-evil"},
        {"dist": "zanj_Torch", "install": "x[y]"},
        {"install": "zanj-pandas[z]"},
        {},
    ]
    for tag in ("acme.X", "numpy.ndarray:odd", "polars.DataFrame"):
        for entry in entries:
            for name in _commands(_hint({"plugins": {tag: entry}}, tag)):
                assert name.partition("[")[0] in PROJECT_DISTRIBUTIONS | installed, (tag, entry, name)


# -- the naming convention, for files without a tag table and objects without a handler ----------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("polars.DataFrame", "install it with: pip install zanj-polars"),
        ("numpy.ndarray:external", "install it with: pip install zanj-numpy"),
        ("torch.Tensor:view", "install it with: pip install zanj-torch"),
        ("evil.Thing", "the file does not say which package wrote it; find the plugin that provides it"),
        ("core.Thing", "the file does not say which package wrote it; find the plugin that provides it"),
        ("list:external", "the file does not say which package wrote it; find the plugin that provides it"),
    ],
)
def test_the_convention_names_only_the_projects_packages(tag: str, expected: str) -> None:
    assert _hint({}, tag) == expected
    assert _hint({"plugins": {}}, tag) == expected


def test_convention_spelling() -> None:
    assert conventional_distribution("polars") == "zanj-polars"
    assert conventional_distribution("Pandas.core.frame") == "zanj-pandas"
    assert conventional_distribution("zanj_core") is None and conventional_distribution("core") is None
    assert conventional_distribution("evil") is None and conventional_distribution("-x.y") is None


def _unsavable_from(module: str) -> Any:
    return type("Thing", (), {"__module__": module})()


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("polars.dataframe.frame", "install the plugin for polars: pip install zanj-polars"),
        ("numpy", "zanj-numpy is installed but has no handler for this type"),
    ],
)
def test_saving_an_object_of_a_project_plugins_module_names_it(module: str, expected: str, tmp_path: Path) -> None:
    if module == "numpy":
        pytest.importorskip("zanj_numpy")
    if module.startswith("polars") and importlib.util.find_spec("zanj_polars") is not None:
        expected = "zanj-polars is installed but has no handler for this type"
    with pytest.raises(ZanjSerializationError, match=re.escape(expected)):
        ZANJ().save({"x": _unsavable_from(module)}, tmp_path / "x")


@pytest.mark.parametrize("module", ["evilpkg.sub", "core", "zanj_core.thing"])
def test_saving_an_object_of_another_module_suggests_no_install(module: str, tmp_path: Path) -> None:
    with pytest.raises(ZanjSerializationError) as caught:
        ZANJ().save({"x": _unsavable_from(module)}, tmp_path / "x")
    assert "pip install" not in str(caught.value) and "register a SerializerHandler" in str(caught.value)


def test_a_node_tagged_by_a_runtime_handler_says_so() -> None:
    handler = SerializerHandler(tag="acme.Y", serialize=lambda o, p, c: {FORMAT_KEY: "acme.Y"}, install_hint="acme-y")
    assert handler.tag_table_entry() == {"dist": "<runtime>", "version": "", "install": "acme-y"}
    assert "register a LoaderHandler" in _hint({"plugins": {"acme.Y": handler.tag_table_entry()}}, "acme.Y")


def test_one_read_works_out_each_tags_hint_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A file of many nodes of one missing tag asks the same question many times: the answer
    (which scans every plugin's records) is worked out once per tag and read."""
    import zanj_core._walk.hints as hints

    calls: list[str] = []
    real = hints.install_hint
    monkeypatch.setattr(hints, "install_hint", lambda tag, *rest: calls.append(tag) or real(tag, *rest))
    target = tmp_path / "many.zanj"
    with zipfile.ZipFile(target, "w") as zf:
        zf.writestr("__zanj__.json", json.dumps([{FORMAT_KEY: f"acme.{'AB'[i % 2]}"} for i in range(300)]))
        zf.writestr("__zanj_meta__.json", json.dumps({"zanj_format": "1.0"}))
    with pytest.warns(Warning):
        back = ZANJ().read(target)
    assert len(back) == 300 and sorted(calls) == ["acme.A", "acme.B"]
    assert back[0].install_hint == back[2].install_hint and back[0].install_hint
