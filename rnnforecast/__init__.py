"""rnnforecast: forecast daily stock prices with recurrent neural networks, honestly.

Importing this package is cheap: it pulls in neither pandas nor TensorFlow.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
