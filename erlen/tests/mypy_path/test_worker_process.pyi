# ``import test_worker_process`` for mypy, as pytest resolves it for the tests in tests/ext/jobs/
# (their directory on sys.path): the whole module, checked under its path name.
# See [tool.mypy] in pyproject.toml.
from tests.ext.jobs.test_worker_process import *  # noqa: F403
