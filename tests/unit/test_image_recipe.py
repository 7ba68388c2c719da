"""Unit tests of the content-addressed caches: the node image tag and the wheelhouse folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from orka.config import REPO_ROOT
from orka.config.platforms import platform
from orka.plan.wheelhouse import target_flags, wheelhouse_dir
from orka.providers.docker import image_tag, recipe_hash

RECIPE = REPO_ROOT / "vagrant" / "image"
PINS = REPO_ROOT / "vagrant" / "provision" / "wheelhouse.txt"
DEBIAN_12 = platform("debian-12")


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    """A private copy of the real recipe folder, free to change."""
    copy = tmp_path / "recipe"
    shutil.copytree(RECIPE, copy)
    return copy


def recipe_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_the_real_recipe_has_files() -> None:
    # The copies below are only meaningful if there is something to hash.
    assert (RECIPE / "build.sh").is_file()
    assert len(recipe_files(RECIPE)) >= 2


def test_hash_is_stable_across_calls_and_copies(recipe: Path, tmp_path: Path) -> None:
    first = recipe_hash(recipe)
    assert recipe_hash(recipe) == first
    other = tmp_path / "elsewhere" / "another-name"
    shutil.copytree(recipe, other)
    assert recipe_hash(other) == first
    assert recipe_hash(RECIPE) == first


def test_hash_is_12_hex(recipe: Path) -> None:
    assert re.fullmatch(r"[0-9a-f]{12}", recipe_hash(recipe))


def test_tag_names_the_repository_the_suite_and_the_hash(recipe: Path) -> None:
    tag = image_tag(recipe, "trixie")
    assert re.fullmatch(r"orka-node:trixie-[0-9a-f]{12}", tag)
    assert image_tag(recipe, "trixie") == tag
    assert image_tag(recipe, "bookworm").startswith("orka-node:bookworm-")
    assert image_tag(recipe, "bookworm").split("-")[-1] != tag.split("-")[-1]  # the suite is in the hash too


@pytest.mark.parametrize("index", range(3))
def test_hash_changes_when_any_file_changes(recipe: Path, index: int) -> None:
    files = recipe_files(recipe)
    if index >= len(files):
        pytest.skip(f"the recipe has only {len(files)} files")
    before = recipe_hash(recipe)
    target = files[index]
    target.write_bytes(target.read_bytes() + b"# changed\n")
    after = recipe_hash(recipe)
    assert after != before
    assert image_tag(recipe, "bookworm") != image_tag(RECIPE, "bookworm")


def test_hash_changes_on_a_one_byte_edit(recipe: Path) -> None:
    before = recipe_hash(recipe)
    build = recipe / "build.sh"
    data = bytearray(build.read_bytes())
    data[-1] ^= 0x01
    build.write_bytes(bytes(data))
    assert recipe_hash(recipe) != before


def test_hash_changes_when_a_file_is_added(recipe: Path) -> None:
    before = recipe_hash(recipe)
    (recipe / "extra.conf").write_text("x\n", encoding="utf-8")
    assert recipe_hash(recipe) != before


def test_hash_changes_when_an_empty_file_is_added_in_a_subfolder(recipe: Path) -> None:
    before = recipe_hash(recipe)
    (recipe / "files").mkdir()
    (recipe / "files" / "empty").touch()
    assert recipe_hash(recipe) != before


def test_hash_changes_when_a_file_is_renamed(recipe: Path) -> None:
    before = recipe_hash(recipe)
    (recipe / "packages.txt").rename(recipe / "packages.list")
    assert recipe_hash(recipe) != before


def test_hash_changes_when_a_file_is_removed(recipe: Path) -> None:
    before = recipe_hash(recipe)
    (recipe / "packages.txt").unlink()
    assert recipe_hash(recipe) != before


def test_hash_ignores_empty_folders(recipe: Path) -> None:
    # Only files go into the image; an empty folder must not force a rebuild.
    before = recipe_hash(recipe)
    (recipe / "empty").mkdir()
    assert recipe_hash(recipe) == before


def test_hash_comes_back_when_a_change_is_undone(recipe: Path) -> None:
    before = recipe_hash(recipe)
    packages = recipe / "packages.txt"
    original = packages.read_bytes()
    packages.write_bytes(original + b"vim\n")
    assert recipe_hash(recipe) != before
    packages.write_bytes(original)
    assert recipe_hash(recipe) == before


# -- wheelhouse_dir -----------------------------------------------------------


@pytest.fixture
def pins(tmp_path: Path) -> Path:
    copy = tmp_path / "wheelhouse.txt"
    shutil.copyfile(PINS, copy)
    return copy


def test_wheelhouse_dir_is_under_the_cache_and_named_by_content(pins: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    target = wheelhouse_dir(pins, cache, DEBIAN_12)
    assert target.parent == cache
    assert re.fullmatch(r"[0-9a-f]{12}-cp311", target.name)
    assert wheelhouse_dir(pins, cache, DEBIAN_12) == target
    assert wheelhouse_dir(PINS, cache, DEBIAN_12) == target
    assert not cache.exists()  # only a name: nothing is created


def test_wheelhouse_dir_changes_when_the_pins_change(pins: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    before = wheelhouse_dir(pins, cache, DEBIAN_12)
    pins.write_text(pins.read_text(encoding="utf-8").replace("salt==", "salt>="), encoding="utf-8")
    assert wheelhouse_dir(pins, cache, DEBIAN_12) != before
    pins.write_text(pins.read_text(encoding="utf-8") + "requests==2.32.3\n", encoding="utf-8")
    third = wheelhouse_dir(pins, cache, DEBIAN_12)
    assert third != before
    assert third.parent == cache


def test_wheelhouse_dir_does_not_depend_on_the_pins_file_name(pins: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    renamed = pins.rename(tmp_path / "requirements.txt")
    assert wheelhouse_dir(renamed, cache, DEBIAN_12) == wheelhouse_dir(PINS, cache, DEBIAN_12)


def test_wheelhouse_dir_is_one_per_target_python(pins: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    trixie = wheelhouse_dir(pins, cache, platform("debian-13"))
    assert trixie.name.endswith("-cp313")
    assert trixie != wheelhouse_dir(pins, cache, DEBIAN_12)
    # Two platforms of one Python but another C library take other wheels (manylinux tags): not shared.
    assert wheelhouse_dir(pins, cache, platform("rocky-9")) != wheelhouse_dir(pins, cache, DEBIAN_12)


def test_target_flags_resolve_for_the_target_python_and_its_c_library() -> None:
    flags = target_flags(platform("debian-13"), machine="x86_64")
    assert flags[:5] == ["--only-binary=:all:", "--implementation", "cp", "--python-version", "3.13"]
    abis = [flags[i + 1] for i, f in enumerate(flags) if f == "--abi"]
    assert abis == ["cp313", "abi3", "none"]
    tags = [flags[i + 1] for i, f in enumerate(flags) if f == "--platform"]
    assert tags[0] == "manylinux_2_41_x86_64"  # trixie's glibc, newest first
    assert "manylinux_2_5_x86_64" in tags
    assert "manylinux_2_42_x86_64" not in tags
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"} <= set(tags)
    assert tags[-1] == "linux_x86_64"  # compiled on the target


def test_target_flags_never_take_wheels_newer_than_the_target_c_library() -> None:
    tags = [t for t in target_flags(platform("rocky-9"), machine="aarch64") if t.startswith("manylinux")]
    assert tags[0] == "manylinux_2_34_aarch64"
    assert not any(t.startswith("manylinux_2_36") for t in tags)
