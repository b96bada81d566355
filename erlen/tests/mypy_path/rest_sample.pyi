# ``import rest_sample`` for mypy, as pytest resolves it for the tests in tests/ext/rest/
# (their directory on sys.path): the whole module, checked under its path name.
# See [tool.mypy] in pyproject.toml.
from tests.ext.rest.rest_sample import *  # noqa: F403
