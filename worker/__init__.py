"""The starter's worker: the process that runs the jobs declared in :mod:`web.jobs`.

It has no job code of its own; ``python -m worker`` is all there is.
"""
