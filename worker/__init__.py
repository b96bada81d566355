"""The starter's worker: job definitions (ids in → web services → events out)."""
