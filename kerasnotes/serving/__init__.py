"""Serving: the versioned SavedModel writer and one serving module per task.

Each module takes what a client sends (uint8 images, encoded image bytes, strings, raw
table columns) and returns named outputs; `export_saved_model` writes it atomically to
`saved_models/<task>/<version>/`.
"""

from kerasnotes.serving.classifier import ImageClassifierServer
from kerasnotes.serving.detection import DetectionServer
from kerasnotes.serving.embedding import WordVectorServer
from kerasnotes.serving.export import existing_versions, export_saved_model
from kerasnotes.serving.segmentation import SegmentationServer
from kerasnotes.serving.tabular import TabularRegressorServer
from kerasnotes.serving.text_generator import TextGeneratorServer

__all__ = [
    "DetectionServer",
    "ImageClassifierServer",
    "SegmentationServer",
    "TabularRegressorServer",
    "TextGeneratorServer",
    "WordVectorServer",
    "existing_versions",
    "export_saved_model",
]
