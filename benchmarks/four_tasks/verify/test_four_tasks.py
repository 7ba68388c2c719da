"""What the four tasks leave on every node: plain testinfra checks (Molecule's verify.yml asserts the same)."""

from __future__ import annotations

from testinfra.host import Host

CONTENT = "ready\n"  # ansible/tasks.yml's /srv/bench/ready


def test_bench_is_a_system_group(host: Host) -> None:
    group = host.group("bench")
    assert group.exists
    assert group.gid < 1000, f"bench must be a system group, gid is {group.gid}"


def test_bench_is_a_system_user_in_group_bench(host: Host) -> None:
    user = host.user("bench")
    assert user.exists
    assert user.uid < 1000, f"bench must be a system user, uid is {user.uid}"
    assert user.group == "bench"


def test_srv_bench_is_owned_by_bench(host: Host) -> None:
    folder = host.file("/srv/bench")
    assert folder.is_directory
    assert (folder.user, folder.group, folder.mode) == ("bench", "bench", 0o755)


def test_ready_file_holds_its_content(host: Host) -> None:
    ready = host.file("/srv/bench/ready")
    assert ready.is_file
    assert (ready.user, ready.group, ready.mode) == ("bench", "bench", 0o644)
    assert ready.content_string == CONTENT
