# ``import jobsapp`` for mypy, as pytest resolves it for the tests in tests/ext/jobs/
# (their directory on sys.path): the whole module, checked under its path name.
# See [tool.mypy] in pyproject.toml.
from tests.ext.jobs.jobsapp import *  # noqa: F403
