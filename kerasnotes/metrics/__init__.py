"""Metrics from the notes: perplexity, detection, segmentation, log-RMSE."""

from kerasnotes.metrics.detection_metrics import AnchorClassError, BoxOffsetMAE
from kerasnotes.metrics.log_rmse import LogRMSE, log_rmse
from kerasnotes.metrics.mean_average_precision import MeanAveragePrecision, average_precision
from kerasnotes.metrics.perplexity import Perplexity
from kerasnotes.metrics.segmentation_metrics import MeanIoU, PixelAccuracy
