"""From bars to forecasts: supervised windows and their scalers, the calibration that turns
a network's output into prices with intervals, and the conformal width schemes.
"""
