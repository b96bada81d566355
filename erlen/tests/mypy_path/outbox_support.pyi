# ``import outbox_support`` for mypy, as pytest resolves it for the tests in tests/ext/outbox/
# (their directory on sys.path). See [tool.mypy] in pyproject.toml.
from tests.ext.outbox.outbox_support import *  # noqa: F403
