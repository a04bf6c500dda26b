"""Finding adapters: the explicit table, entry points, module:attr, install hints, typos."""

from __future__ import annotations

import pytest

import posebench.adapters as reg
from posebench.adapter import Adapter
from posebench.errors import InputError


def test_every_builtin_name_is_in_the_table_and_resolves() -> None:
    for name, target in reg.ADAPTERS.items():
        spec = reg.resolve(name)
        assert spec.source == "builtin"
        assert spec.target == target
        assert target.startswith("posebench.adapters.")


def test_entry_point_adapters_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        reg, "_entry_points", lambda: {"acme": "posebench.adapters.oracle:OracleAdapter"}
    )
    assert reg.resolve("acme").source == "entry-point"
    adapter = reg.load_adapter("acme")
    assert isinstance(adapter, Adapter)
    # a built-in name is never shadowed by a third-party package
    monkeypatch.setattr(reg, "_entry_points", lambda: {"oracle": "evil:Thing"})
    assert reg.resolve("oracle").source == "builtin"


def test_module_attr_always_works() -> None:
    a = reg.load_adapter("posebench.adapters.oracle:JitterAdapter", {"noise": "0.2"})
    assert a.info().name == "jitter"
    assert a.noise == 0.2


def test_missing_optional_package_gives_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(reg.ADAPTERS, "fancy", "fancy_pose_pkg_xyz.model:Fancy")
    monkeypatch.setitem(reg.INSTALL_HINTS, "fancy_pose_pkg_xyz", "pip install fancy-pose")
    with pytest.raises(
        InputError, match="needs the optional package 'fancy_pose_pkg_xyz': pip install fancy-pose"
    ):
        reg.load_adapter("fancy")


def test_typos_and_bad_arguments_are_named() -> None:
    with pytest.raises(InputError, match="did you mean 'mediapipe'"):
        reg.resolve("mediapip")
    with pytest.raises(InputError, match="has no argument 'nosie'; did you mean 'noise'"):
        reg.load_adapter("jitter", {"nosie": "0.1"})
    with pytest.raises(InputError, match="swap='maybe' is not a valid float"):
        reg.load_adapter("jitter", {"swap": "maybe"})
    with pytest.raises(InputError, match="top_down='sometimes' is not a valid bool"):
        reg.load_adapter("oracle", {"top_down": "sometimes"})
    with pytest.raises(InputError, match="needs --adapter-arg path="):
        reg.load_adapter("results-file")
