"""What the web tier's requests reached: endpoint -> every status it answered, over the whole
session (recorded by tests/web/conftest.py, checked by test_zz_every_route_is_tested.py)."""

from __future__ import annotations

import collections

SERVED: collections.defaultdict[str, set[int]] = collections.defaultdict(set)
#: Endpoints that sent a visitor to log in (a redirect to /login?next=...): a page's answer
#: to "not signed in", as a 401 is the API's.
SENT_TO_LOGIN: set[str] = set()
