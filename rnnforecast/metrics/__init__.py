"""Scores: point accuracy next to the naive forecast, interval and distribution scores, and
the tests that compare two forecasters. Pure functions on numpy arrays.
"""
