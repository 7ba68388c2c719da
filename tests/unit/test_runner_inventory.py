"""Unit tests of orka.runner.inventory: hosts from a YAML file, and picking them by name or group."""

from __future__ import annotations

from pathlib import Path

import pytest

from orka.errors import OrkaError
from orka.runner.inventory import Host, Inventory, InventoryError, load_inventory

INVENTORY = """\
vars: {method: custom, cluster_size: 3}
hosts:
  web-1:
    address: 10.0.0.5
    user: deploy
    key: ~/.ssh/id_ed25519
    groups: [primary, web]
    vars: {role: primary}
  web-2:
    address: 10.0.0.6
    user: deploy
    port: 2222
    key: /keys/id_rsa
    groups: [secondaries, web]
    vars: {role: secondary}
  web-3:
    groups: [secondaries]
  db-1:
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.yml"
    path.write_text(text)
    return path


@pytest.fixture
def inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inventory:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return load_inventory(write(tmp_path, INVENTORY))


def names(hosts: tuple[Host, ...]) -> list[str]:
    return [h.name for h in hosts]


# -- loading -----------------------------------------------------------------


def test_hosts_in_file_order(inventory: Inventory) -> None:
    assert names(inventory.hosts) == ["web-1", "web-2", "web-3", "db-1"]


def test_inventory_vars(inventory: Inventory) -> None:
    assert inventory.vars == {"method": "custom", "cluster_size": 3}


def test_host_settings(inventory: Inventory, tmp_path: Path) -> None:
    web1, web2, *_ = inventory.hosts
    assert web1 == Host(
        name="web-1",
        address="10.0.0.5",
        user="deploy",
        port=22,
        key=str(tmp_path / "home" / ".ssh" / "id_ed25519"),
        groups=("primary", "web"),
        vars={"role": "primary"},
    )
    assert (web2.port, web2.key, web2.groups, web2.vars) == (
        2222,
        "/keys/id_rsa",
        ("secondaries", "web"),
        {"role": "secondary"},
    )
    assert web1.ssh_config == ""
    assert web2.ssh_config == ""


def test_key_tilde_is_expanded(inventory: Inventory, tmp_path: Path) -> None:
    key = inventory.hosts[0].key
    assert "~" not in key
    assert key == str(tmp_path / "home" / ".ssh" / "id_ed25519")


def test_defaults_for_a_bare_host(inventory: Inventory) -> None:
    """A host with no settings is reached by its name, as the SSH user's default, on port 22."""
    db1 = inventory.hosts[3]
    assert db1 == Host(name="db-1", address="db-1", user="", port=22, key="", groups=(), vars={})
    web3 = inventory.hosts[2]
    assert (web3.address, web3.user, web3.key, web3.groups) == ("web-3", "", "", ("secondaries",))


def test_no_top_level_vars(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, "hosts: {a: {address: 10.0.0.1}}\n"))
    assert inventory.vars == {}
    assert inventory.hosts == (Host(name="a", address="10.0.0.1"),)


def test_non_string_names_and_addresses_become_strings(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, "hosts: {1: {address: 10, port: '2200'}}\n"))
    (host,) = inventory.hosts
    assert (host.name, host.address, host.port) == ("1", "10", 2200)


def test_inventory_error_is_an_orka_error() -> None:
    assert issubclass(InventoryError, OrkaError)


# -- select -------------------------------------------------------------------


def test_select_by_name(inventory: Inventory) -> None:
    assert names(inventory.select(["web-2"])) == ["web-2"]


def test_select_by_group(inventory: Inventory) -> None:
    assert names(inventory.select(["secondaries"])) == ["web-2", "web-3"]
    assert names(inventory.select(("primary",))) == ["web-1"]


def test_select_all(inventory: Inventory) -> None:
    assert names(inventory.select(["all"])) == ["web-1", "web-2", "web-3", "db-1"]
    assert names(inventory.select(["all", "web-1"])) == ["web-1", "web-2", "web-3", "db-1"]


def test_select_keeps_inventory_order_and_no_duplicates(inventory: Inventory) -> None:
    assert names(inventory.select(["db-1", "secondaries", "primary"])) == ["web-1", "web-2", "web-3", "db-1"]
    assert names(inventory.select(["web", "secondaries", "web-2"])) == ["web-1", "web-2", "web-3"]


def test_select_nothing(inventory: Inventory) -> None:
    assert inventory.select([]) == ()


def test_select_returns_the_host_objects(inventory: Inventory) -> None:
    assert inventory.select(["web-1"])[0] is inventory.hosts[0]


def test_select_unknown_host_names_it(inventory: Inventory) -> None:
    with pytest.raises(InventoryError, match="no host or group named web-9 in the inventory"):
        inventory.select(["web-1", "web-9"])


def test_select_unknown_group_names_every_unknown_one(inventory: Inventory) -> None:
    with pytest.raises(InventoryError, match="no host or group named backends, caches in the inventory"):
        inventory.select(["caches", "primary", "backends"])


def test_select_on_a_built_inventory() -> None:
    inventory = Inventory((Host("a", groups=("g",)), Host("b"), Host("c", groups=("g",))))
    assert names(inventory.select(["g"])) == ["a", "c"]
    assert names(inventory.select(["b", "a"])) == ["a", "b"]
    with pytest.raises(InventoryError, match="named x"):
        inventory.select(["x"])


# -- bad inventories ----------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yml"
    with pytest.raises(InventoryError, match="cannot read inventory") as caught:
        load_inventory(path)
    assert str(path) in str(caught.value)
    assert "No such file or directory" in str(caught.value)


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts:\n  web-1: {address: 10.0.0.5}\n  web-2: {address: [10.0.0.6}\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert str(caught.value) == f"inventory {path}, line 3: malformed YAML"
    assert caught.value.__suppress_context__


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("vars: {a: 1}\n", id="no-hosts"),
        pytest.param("hosts:\n", id="null-hosts"),
        pytest.param("hosts: {}\n", id="empty-hosts"),
        pytest.param("hosts: [web-1, web-2]\n", id="hosts-a-list"),
        pytest.param("- web-1\n", id="a-list"),
        pytest.param("web-1\n", id="a-string"),
    ],
)
def test_no_hosts_mapping(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert str(caught.value) == f"inventory {path}: needs a `hosts:` mapping of host name to its settings"


def test_unknown_host_key_names_host_key_and_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts:\n  web-1: {address: 10.0.0.5}\n  web-2: {adress: 10.0.0.6, pasword: x}\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert str(caught.value) == (
        f"inventory {path}: host web-2: unknown key(s) adress, pasword; allowed: address, groups, key, port, user, vars"
    )


def test_ssh_config_is_not_an_inventory_file_key(tmp_path: Path) -> None:
    """ssh_config is set only by code (orka.cluster), never from a YAML inventory."""
    with pytest.raises(InventoryError, match="unknown key\\(s\\) ssh_config"):
        load_inventory(write(tmp_path, "hosts: {a: {ssh_config: /x}}\n"))


# -- gaps found by these tests, now fixed ------------------------------------


def test_groups_as_a_string(tmp_path: Path) -> None:
    try:
        inventory = load_inventory(write(tmp_path, "hosts: {a: {groups: primary}}\n"))
    except InventoryError:
        return
    assert inventory.hosts[0].groups == ("primary",)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("hosts: {web-1: 5}\n", id="host-spec-an-int"),
        pytest.param("hosts: {web-1: {port: ssh}}\n", id="port-not-a-number"),
        pytest.param("hosts: {web-1: {vars: [a, b]}}\n", id="host-vars-a-list"),
        pytest.param("vars: 3\nhosts: {web-1: {}}\n", id="inventory-vars-an-int"),
    ],
)
def test_wrong_value_types_are_inventory_errors(tmp_path: Path, text: str) -> None:
    with pytest.raises(InventoryError, match=r"web-1|vars"):
        load_inventory(write(tmp_path, text))
