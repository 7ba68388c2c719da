"""pytest rewrites the asserts of the shared machine checks as it does a test's, so a failure shows its values."""

import pytest

pytest.register_assert_rewrite("tests.integration.machine_checks")
