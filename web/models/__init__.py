"""The database models. A model never imports a service."""

from __future__ import annotations

from .message import Message as Message
from .user import User as User
