"""The version of rnnforecast, in a module of its own: the package's ``__init__`` hands the
Python API on, and modules that record the version (a bundle's manifest, ``--version``)
import it from here without importing that."""

__version__ = "0.1.0"
