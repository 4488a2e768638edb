"""tdf: train, diagnose and fix skeleton-based action recognition models."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tdf")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
