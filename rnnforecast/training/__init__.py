"""Training: fitting a recipe on a split (one ticker, or the pooled windows of a group),
refitting it on every bar, warm starts, and saving the run as a bundle.
"""
