"""Plain service functions: keyword-only arguments, explicit dependencies, no request globals.

Views, jobs (:mod:`web.jobs`) and realtime handlers all call these; a view calls one use case
from :mod:`web.services.board`, which knows the events and jobs a write implies.
"""
