"""Object detection data: banana and VOC readers, detection records, the synthetic shapes, the pipeline."""
