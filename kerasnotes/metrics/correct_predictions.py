"""Which examples a classifier gets right: the input of `significance.compare_classifiers`."""

import numpy as np


def correct_predictions(model, images, labels, batch_size=256):
    """Whether `model` classifies each image right, `(N,)` bool.

    The images are scaled to [0, 1] as `make_classification_dataset` feeds them and run in
    batches of `batch_size`, in inference mode; the model returns one score per class, and
    the highest is its prediction.

    Args:
        model: a classifier `images -> scores (batch, num_classes)`.
        images: uint8 array `(N, height, width, channels)` (or values in [0, 255]).
        labels: integer array `(N,)`.
        batch_size: images per call (>= 1).

    Example:

    >>> comparison = compare_classifiers(correct_predictions(finetuned, x_test, y_test),
    ...                                  correct_predictions(scratch, x_test, y_test))
    """
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"correct_predictions: {len(images)} images but {len(labels)} "
                         "labels; they must be as many")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError("correct_predictions: batch_size must be a positive integer; "
                         f"received {batch_size!r}")
    predicted = [np.argmax(model(np.asarray(images[i:i + batch_size], "float32") / 255.0,
                                 training=False), -1)
                 for i in range(0, len(images), batch_size)]
    if not predicted:
        return np.zeros((0,), bool)
    return np.concatenate(predicted) == labels
