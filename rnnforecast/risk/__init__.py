"""The classical volatility baselines, the distribution scores of a model next to them, and
the intervals a bundle serves (the network's, or the best baseline's).
"""
