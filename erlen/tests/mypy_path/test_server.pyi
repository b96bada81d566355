# ``import test_server`` for mypy, as pytest resolves it for the tests in tests/realtime/
# (their directory on sys.path): the whole module, checked under its path name.
# See [tool.mypy] in pyproject.toml.
from tests.realtime.test_server import *  # noqa: F403
