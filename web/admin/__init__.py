"""The admin pages (``/admin``): users, and jobs that failed for good.

A blueprint with its own templates (``web/admin/templates/admin/``) and static files
(``/admin/static/``), so the whole feature lives in one folder. Admins only: a visitor is
sent to log in, a signed-in non-admin gets a 403 page.
"""

from __future__ import annotations

from .views import bp as bp
