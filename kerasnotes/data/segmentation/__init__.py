"""Semantic segmentation data: VOC segmentation, its colormap, the synthetic scenes, pipeline."""
