# ``import k8s_manifests`` for mypy, as pytest resolves it for the tests (tests/k8s/ on
# sys.path): the whole module, checked under its path name. See [tool.mypy] in pyproject.toml.
from tests.k8s.k8s_manifests import *  # noqa: F403
