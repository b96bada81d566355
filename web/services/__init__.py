"""Plain service functions: keyword-only arguments, explicit dependencies, no request globals.

Views, worker jobs and realtime handlers all call these.
"""
