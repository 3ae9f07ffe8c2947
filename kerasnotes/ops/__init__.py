"""Pure functions: cross-correlation, boxes, anchors, matching, SSD targets, offsets, NMS, EMA."""

from kerasnotes.ops.anchor_matching import assign_anchor_to_bbox, multibox_target
from kerasnotes.ops.anchors import multibox_prior
from kerasnotes.ops.box_offsets import offset_boxes, offset_inverse
from kerasnotes.ops.boxes import (
    box_area,
    box_iou,
    center_to_corner,
    corner_to_center,
    normalized_to_pixel,
    pixel_to_normalized,
)
from kerasnotes.ops.corr2d import corr2d, corr2d_multi_in, corr2d_multi_in_out
from kerasnotes.ops.embedding_queries import analogy, most_similar
from kerasnotes.ops.exponential_moving_average import exponential_moving_average
from kerasnotes.ops.huffman_tree import huffman_tree
from kerasnotes.ops.nms import multibox_detection, nms
from kerasnotes.ops.region_proposals import anchor_proposals, load_proposals
from kerasnotes.ops.ssd_targets import ssd_targets
