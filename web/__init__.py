"""The starter's web service: an erlen app built by :func:`web.app.create_app`.

This file imports nothing: ``python -m web.health`` (a container health check) runs often
and must start fast, without loading the app.
"""
