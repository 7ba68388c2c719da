"""pytest rewrites the asserts of the shared machine checks as it does a test's, so a failure shows its values;
and the session notes which orka clusters were on the machine before its integration tests began."""

import pytest

from tests.integration.clusters import cluster_names

pytest.register_assert_rewrite("tests.integration.machine_checks")


@pytest.fixture(scope="session", autouse=True)
def clusters_before_session() -> frozenset[str]:
    """The clusters on this machine before this session's first integration test (autouse, so before any
    test's own cluster): someone else's, which `orka down --all` must not be run over."""
    return frozenset(cluster_names())
