# ``import outside`` for mypy, as pytest resolves it for the tests in tests/reliability/
# (their directory on sys.path). See [tool.mypy] in pyproject.toml.
from tests.reliability.outside import *  # noqa: F403
