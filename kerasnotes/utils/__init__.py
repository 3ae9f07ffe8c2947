"""Utilities of the process around a model: a quiet TensorFlow import and the memory a
process may use. Importing them does not import TensorFlow."""
