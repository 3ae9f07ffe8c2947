"""Object detection data: detection records, banana and VOC readers, synthetic shapes, pipeline."""
