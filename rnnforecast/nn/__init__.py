"""The networks: the Keras model and its training (the only modules that import TensorFlow),
and the numpy forward pass that serves a saved model without it.
"""
