"""Unit tests of orka.runner.inventory: hosts from a YAML file, and picking them by name or group."""

from __future__ import annotations

from pathlib import Path

import pytest

from orka.errors import OrkaError
from orka.runner.inventory import Host, Inventory, InventoryError, check_targets, load_inventory
from orka.runner.taskfile import parse_taskfile

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
    assert str(caught.value) == (
        f"inventory {path}, line 3: malformed YAML (expected ',' or ']', but got '}}'); "
        "fix that line (an inventory is YAML: `hosts:` maps each host name to its address, user, key)"
    )
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


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("hosts: {web-1: {address: }}\n", "host web-1: address None is empty or not a name", id="null"),
        pytest.param("hosts: {web-1: {address: ''}}\n", "host web-1: address '' is empty or not a name", id="empty"),
        pytest.param("hosts: {web-1: {address: [a, b]}}\n", "address ['a', 'b'] is empty or not a name", id="list"),
        pytest.param(
            "hosts: {web-1: {port: 0}}\n", "host web-1: port 0 is out of range; allowed: 1 to 65535", id="port"
        ),
        pytest.param("hosts: {web-1: {groups: {a: 1}}}\n", "groups {'a': 1} is not a list of group names", id="groups"),
        pytest.param("hosts: {web-1: {groups: [a, 3]}}\n", "groups ['a', 3] is not a list of group names", id="group"),
        pytest.param("hosts: {web-1: {user: [a]}}\n", "host web-1: user ['a'] is not a user name", id="user"),
    ],
)
def test_bad_host_values_name_host_and_fix(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert str(caught.value).startswith(f"inventory {path}: ")
    assert fragment in str(caught.value)


def test_an_address_left_out_is_the_host_name_and_a_null_user_is_none(tmp_path: Path) -> None:
    (host,) = load_inventory(write(tmp_path, "hosts: {web-1: {user: }}\n")).hosts
    assert (host.address, host.user) == ("web-1", "")


def test_loaded_inventory_knows_its_file(inventory: Inventory, tmp_path: Path) -> None:
    assert inventory.source == str(tmp_path / "inventory.yml")


def test_select_unknown_says_what_is_known_and_the_fix(inventory: Inventory) -> None:
    with pytest.raises(InventoryError) as caught:
        inventory.select(["web-9"])
    assert str(caught.value) == (
        f"no host or group named web-9 in the inventory {inventory.source} "
        "(hosts: web-1, web-2, web-3, db-1; groups: primary, secondaries, web, all); "
        "name one of those, or add it to the inventory"
    )


def test_known_names_are_cut_when_there_are_many() -> None:
    inventory = Inventory(tuple(Host(f"n{i}") for i in range(25)))
    assert inventory.known_names() == "hosts: n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, ... (15 more); groups: none, all"


# -- check_targets: what `orka run` checks before any SSH ---------------------

TASKS = parse_taskfile(
    "steps:\n  - {name: publish, hosts: primary, tasks: [{ping: {}}]}\n"
    "  - {name: fetch, hosts: [secondaries], tasks: [{ping: {}}]}\n",
    "tasks.yml",
)


@pytest.fixture
def reachable(tmp_path: Path) -> Inventory:
    """Hosts whose key and known_hosts files exist."""
    (tmp_path / "id_ed25519").write_text("key\n")
    (tmp_path / "known_hosts").write_text("")
    return load_inventory(
        write(
            tmp_path,
            f"known_hosts: {tmp_path / 'known_hosts'}\n"
            "hosts:\n"
            f"  web-1: {{key: {tmp_path / 'id_ed25519'}, groups: [primary]}}\n"
            f"  web-2: {{key: {tmp_path / 'id_ed25519'}, groups: [secondaries]}}\n",
        )
    )


def test_targets_that_exist_pass(reachable: Inventory) -> None:
    check_targets(reachable, TASKS)
    check_targets(reachable, TASKS, ("web-2",))
    check_targets(reachable, TASKS, ("all", "primary"))


def test_limit_naming_an_unknown_host(reachable: Inventory) -> None:
    with pytest.raises(InventoryError) as caught:
        check_targets(reachable, TASKS, ("web-1", "web-9", "db"))
    assert str(caught.value) == (
        f"--limit db web-9: no host or group of that name in inventory {reachable.source} "
        "(hosts: web-1, web-2; groups: primary, secondaries, all); limit to one of those, or add it to the inventory"
    )


def test_step_naming_an_unknown_group(reachable: Inventory) -> None:
    tasks = parse_taskfile(
        "steps:\n  - {hosts: primary, tasks: [{ping: {}}]}\n  - {hosts: [backends], tasks: [{ping: {}}]}\n", "t.yml"
    )
    with pytest.raises(InventoryError) as caught:
        check_targets(reachable, tasks)
    assert str(caught.value).startswith(
        f"t.yml, step 2 (step 2): hosts backends: no host or group of that name in inventory {reachable.source} "
    )
    assert str(caught.value).endswith("fix the step's `hosts`, or add it to the inventory")


def test_a_missing_key_of_a_host_that_will_be_reached(tmp_path: Path, reachable: Inventory) -> None:
    (tmp_path / "id_ed25519").unlink()
    with pytest.raises(InventoryError) as caught:
        check_targets(reachable, TASKS, ("web-2",))
    assert str(caught.value) == (
        f"inventory {reachable.source}: host web-2: key {tmp_path / 'id_ed25519'} does not exist; "
        "give the path of the SSH private key that logs in to it"
    )


def test_a_host_left_out_by_limit_is_not_checked(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("key\n")
    inventory = load_inventory(
        write(
            tmp_path,
            f"known_hosts: none\nhosts:\n  web-1: {{key: {tmp_path / 'key'}, groups: [primary]}}\n"
            f"  web-2: {{key: {tmp_path / 'gone'}, groups: [secondaries]}}\n",
        )
    )
    check_targets(inventory, TASKS, ("web-1",))
    with pytest.raises(InventoryError, match="host web-2: key"):
        check_targets(inventory, TASKS)


def test_a_missing_known_hosts_file(tmp_path: Path, reachable: Inventory) -> None:
    (tmp_path / "known_hosts").unlink()
    with pytest.raises(InventoryError) as caught:
        check_targets(reachable, TASKS)
    assert f"known_hosts {tmp_path / 'known_hosts'} does not exist" in str(caught.value)
    assert "set `known_hosts: none` for throwaway nodes" in str(caught.value)


def test_hosts_from_an_openssh_config_are_not_checked_for_files() -> None:
    """The config names its own key and known hosts (Vagrant's ssh-config, for orka's cluster)."""
    inventory = Inventory(
        tuple(
            Host(name, ssh_config="/nowhere/ssh-config", key="/nowhere/key", groups=(group,))
            for name, group in (("orka-node-1", "primary"), ("orka-node-2", "secondaries"))
        )
    )
    check_targets(inventory, TASKS)
    with pytest.raises(InventoryError, match="no host or group of that name in the inventory"):
        check_targets(inventory, TASKS, ("orka-node-3",))
