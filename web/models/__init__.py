"""The database models, all derived from :class:`Base` (``db.Model``).

A model imports neither the extensions nor a service, so anything can import a model.
"""

from __future__ import annotations

from .audit import AuditEvent as AuditEvent
from .base import Base as Base
from .export import Export as Export
from .export import ExportChunk as ExportChunk
from .message import Message as Message
from .room import Membership as Membership
from .room import Mention as Mention
from .room import Room as Room
from .token import ApiToken as ApiToken
from .user import User as User
