"""kerasnotes: the models, losses, optimizers and data tricks of the deep-learning notes,
as tested Keras layers, models and tf.data pipelines.

Importing the package has no side effects: it does not touch TensorFlow devices, seeds or
logging. Subpackages are imported on demand (``from kerasnotes.models import LeNet``).
"""

__version__ = "0.1.0"
