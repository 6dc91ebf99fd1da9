"""Daily bars: where they come from (CSV, the bundled sample, Yahoo), the exchange calendars
that date them, and the SQLite store that keeps them. The bundled sample, ``GOOG.csv``,
lives in this folder.
"""
