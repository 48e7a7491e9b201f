"""kcompat: find every reason a saved Keras / TensorFlow model will not load, without loading it."""

__version__ = "0.1.0"
