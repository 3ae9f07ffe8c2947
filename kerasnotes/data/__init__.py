"""tf.data pipelines: real loaders and embedded synthetic defaults."""

from kerasnotes.data.classification_datasets import (
    ClassificationData,
    load_classification_data,
    make_classification_dataset,
)
from kerasnotes.data.fashion_mnist import load_fashion_mnist_tfds
from kerasnotes.data.idx import load_fashion_mnist_idx, read_idx
from kerasnotes.data.synthetic_glyphs import load_synthetic_glyphs
