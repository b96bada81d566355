# ``import erlen_tests_private_redis`` for mypy: tests/ext/conftest.py loads
# tests/ext/private_redis.py under that name. See [tool.mypy] in pyproject.toml.
from tests.ext.private_redis import *  # noqa: F403
