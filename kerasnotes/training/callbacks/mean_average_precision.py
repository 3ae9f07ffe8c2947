"""The validation mAP of a detector in the logs, after every epoch."""

import keras

from kerasnotes.metrics.mean_average_precision import detector_map


class MeanAveragePrecisionCallback(keras.callbacks.Callback):
    """After every epoch, `logs[name]`: the `detector_map` of `detect` on `batches`.

    The Trainer writes the logs to TensorBoard (`val_mAP@0.5` becomes the validation run's
    `epoch_mAP@0.5`), the epoch line and the history. With `verbose`, it also prints
    `  val_mAP@0.5: 0.9987`.

    Args:
        detect: images -> `(batch, rows, 6)` detections, e.g. `TinySSD.detect`.
        batches: iterable of `(images, labels)` batches (e.g. the validation split).
        num_classes: number of object classes.
        iou_threshold: IoU a detection needs to match a ground truth (VOC: 0.5).
        name: the key in the logs.
        verbose: print the figure after every epoch.

    Example:

    >>> detect = tf.function(lambda images: model.detect(images, 100))
    >>> trainer = Trainer(model, loss, optimizer, callbacks=[
    ...     MeanAveragePrecisionCallback(detect, validation_batches, num_classes=4)])
    """

    def __init__(self, detect, batches, num_classes, iou_threshold=0.5, name="val_mAP@0.5",
                 verbose=1):
        super().__init__()
        self.detect, self.batches, self.num_classes = detect, batches, num_classes
        self.iou_threshold, self.name, self.verbose = iou_threshold, name, verbose

    def on_epoch_end(self, epoch, logs=None):
        logs[self.name] = detector_map(self.detect, self.batches, self.num_classes,
                                       self.iou_threshold)
        if self.verbose:
            print(f"  {self.name}: {logs[self.name]:.4f}", flush=True)
