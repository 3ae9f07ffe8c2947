"""d2l's TinySSD in PyTorch (the peer of `python -m benchmarks.ssd_speed --vs-pytorch`):
model, anchors, targets, loss, SGD step and a data path reading the same files as ours, as
d2l writes them (the `d2l` variant). benchmarks/peers/tinyssd_torch_tuned.py runs the same
code the way a performance-minded user would too (channels_last, images decoded once,
`torch.compile`, a loader worker), and is the worker process the benchmark starts.

A transcription of the algorithm of d2l's chapter "Single Shot Multibox Detection" (PyTorch
edition), written for this benchmark:

- the model: a base network of three down-sample blocks (16, 32, 64 channels; each block is
  twice conv3x3 + BatchNorm + ReLU, then 2x2 max pooling), then down-sample blocks of 128
  channels (64 -> 128, 128 -> 128, 128 -> 128) and a global max pooling: five scales, each
  with a 3x3 class-prediction conv (a (q + 1) channels) and a 3x3 box-prediction conv (4a);
  predictions flattened channels-last (permute NCHW -> NHWC) and concatenated;
- `multibox_prior` at every scale on every forward pass, with d2l's sizes
  [[0.2, 0.272], [0.37, 0.447], [0.54, 0.619], [0.71, 0.79], [0.88, 0.961]] and ratios
  [1, 2, 0.5] (4 anchors per pixel);
- `multibox_target` per image of the batch inside the training loop: IoU matrix, anchors with
  best IoU >= 0.5 take that box, then the greedy loop (largest IoU, discard its row and
  column) once per ground truth; offsets `(10 dx / w_a, 10 dy / h_a, 5 log(eps + w / w_a),
  5 log(eps + h / h_a))`, masked. One deviation: padding rows (class < 0; d2l's bananas
  have exactly one object per image, ours 0-3) are dropped before matching, so a padding
  box never takes an anchor;
- the loss `CE(cls) averaged over anchors + L1(masked offsets) averaged over 4A`, mean over
  the batch; SGD lr 0.2, weight decay 5e-4; d2l's `cls_eval` / `bbox_eval` metrics every
  step.

Data: `ShapesDataset` reads `label.csv` + `images/` (the banana layout the app's synthetic
shapes use), decodes each image with PIL when it is fetched (every epoch, like our tf.data
pipeline; d2l keeps decoded tensors in memory), scales to [0, 1], resizes (bilinear) when
the file is not `image_size`, pads labels to `max_objects` rows of class -1; a
`torch.utils.data.DataLoader` shuffles and batches it.

Example:

>>> net = TinySSD(num_classes=4)
>>> optimizer = torch.optim.SGD(net.parameters(), lr=0.2, weight_decay=5e-4)
>>> loss, class_correct, box_error = train_step(net, optimizer, images, labels)
"""

import csv
import os

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

SIZES = [[0.2, 0.272], [0.37, 0.447], [0.54, 0.619], [0.71, 0.79], [0.88, 0.961]]
RATIOS = [[1, 2, 0.5]] * 5
ANCHORS_PER_PIXEL = len(SIZES[0]) + len(RATIOS[0]) - 1


# ---------------------------------------------------------------- anchors and targets

def multibox_prior(feature_map, sizes, ratios):
    """Anchors `(1, h * w * a, 4)` (normalized corners) centred on every pixel of
    `feature_map` `(N, C, h, w)`: sizes with the first ratio, then the first size with the
    other ratios; width `s sqrt(r) h / w`, height `s / sqrt(r)`."""
    height, width = feature_map.shape[-2:]
    device = feature_map.device
    size_tensor = torch.tensor(sizes, device=device)
    ratio_tensor = torch.tensor(ratios, device=device)
    per_pixel = len(sizes) + len(ratios) - 1
    center_y = (torch.arange(height, device=device) + 0.5) / height
    center_x = (torch.arange(width, device=device) + 0.5) / width
    shift_y, shift_x = torch.meshgrid(center_y, center_x, indexing="ij")
    shift_y, shift_x = shift_y.reshape(-1), shift_x.reshape(-1)
    w = torch.cat((size_tensor * torch.sqrt(ratio_tensor[0]),
                   sizes[0] * torch.sqrt(ratio_tensor[1:]))) * height / width
    h = torch.cat((size_tensor / torch.sqrt(ratio_tensor[0]),
                   sizes[0] / torch.sqrt(ratio_tensor[1:])))
    half = torch.stack((-w, -h, w, h)).T.repeat(height * width, 1) / 2
    grid = torch.stack([shift_x, shift_y, shift_x, shift_y],
                       dim=1).repeat_interleave(per_pixel, dim=0)
    return (grid + half).unsqueeze(0)


def box_corner_to_center(boxes):
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    return torch.stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), dim=-1)


def box_iou(boxes1, boxes2):
    """IoU matrix `(len(boxes1), len(boxes2))` of corner boxes."""
    def area(b):
        return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])

    upper_left = torch.max(boxes1[:, None, :2], boxes2[:, :2])
    lower_right = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
    inter = (lower_right - upper_left).clamp(min=0)
    inter_area = inter[:, :, 0] * inter[:, :, 1]
    return inter_area / (area(boxes1)[:, None] + area(boxes2) - inter_area)


def assign_anchor_to_bbox(ground_truth, anchors, iou_threshold=0.5):
    """Index of the ground truth of every anchor, -1 for background (d2l's algorithm)."""
    num_anchors, num_gt = anchors.shape[0], ground_truth.shape[0]
    assignment = torch.full((num_anchors,), -1, dtype=torch.long, device=anchors.device)
    if num_gt == 0:
        return assignment
    jaccard = box_iou(anchors, ground_truth)
    max_ious, indices = torch.max(jaccard, dim=1)
    above = max_ious >= iou_threshold
    assignment[torch.nonzero(above).reshape(-1)] = indices[above]
    column_discard = torch.full((num_anchors,), -1.0, device=anchors.device)
    row_discard = torch.full((num_gt,), -1.0, device=anchors.device)
    for _ in range(num_gt):
        flat = torch.argmax(jaccard)
        box, anchor = (flat % num_gt).long(), (flat // num_gt).long()
        assignment[anchor] = box
        jaccard[:, box] = column_discard
        jaccard[anchor, :] = row_discard
    return assignment


def offset_boxes(anchors, assigned, eps=1e-6):
    anchor_c, box_c = box_corner_to_center(anchors), box_corner_to_center(assigned)
    offset_xy = 10 * (box_c[:, :2] - anchor_c[:, :2]) / anchor_c[:, 2:]
    offset_wh = 5 * torch.log(eps + box_c[:, 2:] / anchor_c[:, 2:])
    return torch.cat([offset_xy, offset_wh], dim=1)


def multibox_target(anchors, labels):
    """`(bbox_offsets (N, 4A), bbox_mask (N, 4A), class_labels (N, A))` for labels
    `(N, max_objects, 5)` (class, corners; class < 0 = padding), image by image."""
    anchors = anchors.squeeze(0)
    num_anchors = anchors.shape[0]
    offsets, masks, classes = [], [], []
    for label in labels:
        label = label[label[:, 0] >= 0]
        assignment = assign_anchor_to_bbox(label[:, 1:], anchors)
        mask = (assignment >= 0).float().unsqueeze(-1).repeat(1, 4)
        class_labels = torch.zeros(num_anchors, dtype=torch.long, device=anchors.device)
        assigned = torch.zeros((num_anchors, 4), dtype=torch.float32, device=anchors.device)
        positive = torch.nonzero(assignment >= 0)
        box_index = assignment[positive]
        class_labels[positive] = label[box_index, 0].long() + 1
        assigned[positive] = label[box_index, 1:]
        offsets.append((offset_boxes(anchors, assigned) * mask).reshape(-1))
        masks.append(mask.reshape(-1))
        classes.append(class_labels)
    return torch.stack(offsets), torch.stack(masks), torch.stack(classes)


# ---------------------------------------------------------------- the model

def down_sample_block(in_channels, out_channels):
    layers = []
    for _ in range(2):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
                   nn.BatchNorm2d(out_channels), nn.ReLU()]
        in_channels = out_channels
    layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


def base_net():
    channels = [3, 16, 32, 64]
    return nn.Sequential(*[down_sample_block(channels[i], channels[i + 1])
                           for i in range(len(channels) - 1)])


def stage(i):
    if i == 0:
        return base_net()
    if i == 1:
        return down_sample_block(64, 128)
    if i == 4:
        return nn.AdaptiveMaxPool2d((1, 1))
    return down_sample_block(128, 128)


def flatten_predictions(prediction):
    return torch.flatten(prediction.permute(0, 2, 3, 1), start_dim=1)


class TinySSD(nn.Module):
    """d2l's TinySSD: forward returns `(anchors (1, A, 4), class_preds (N, A, q + 1),
    bbox_preds (N, 4A))`."""

    def __init__(self, num_classes):
        super().__init__()
        self.num_classes = num_classes
        in_channels = [64, 128, 128, 128, 128]
        self.stages = nn.ModuleList(stage(i) for i in range(5))
        self.class_predictors = nn.ModuleList(
            nn.Conv2d(c, ANCHORS_PER_PIXEL * (num_classes + 1), kernel_size=3, padding=1)
            for c in in_channels)
        self.box_predictors = nn.ModuleList(
            nn.Conv2d(c, ANCHORS_PER_PIXEL * 4, kernel_size=3, padding=1) for c in in_channels)

    def forward(self, x):
        anchors, class_preds, box_preds = [], [], []
        for i in range(5):
            x = self.stages[i](x)
            anchors.append(multibox_prior(x, SIZES[i], RATIOS[i]))
            class_preds.append(flatten_predictions(self.class_predictors[i](x)))
            box_preds.append(flatten_predictions(self.box_predictors[i](x)))
        class_preds = torch.cat(class_preds, dim=1)
        class_preds = class_preds.reshape(class_preds.shape[0], -1, self.num_classes + 1)
        return torch.cat(anchors, dim=1), class_preds, torch.cat(box_preds, dim=1)


# ---------------------------------------------------------------- loss and step

_class_loss = nn.CrossEntropyLoss(reduction="none")
_box_loss = nn.L1Loss(reduction="none")


def calc_loss(class_preds, class_labels, box_preds, box_labels, box_masks):
    batch, num_classes = class_preds.shape[0], class_preds.shape[2]
    cls = _class_loss(class_preds.reshape(-1, num_classes),
                      class_labels.reshape(-1)).reshape(batch, -1).mean(dim=1)
    box = _box_loss(box_preds * box_masks, box_labels * box_masks).mean(dim=1)
    return cls + box


def make_optimizer(net):
    return torch.optim.SGD(net.parameters(), lr=0.2, weight_decay=5e-4)


def train_step(net, optimizer, images, labels, bfloat16=False, targets=None):
    """One d2l training step; returns `(loss, correct anchor classes, box L1 sum)`.

    `targets` (precomputed `multibox_target` outputs) skips the target computation (d2l
    computes it here, every step); `bfloat16` runs the forward pass under CPU autocast.
    """
    optimizer.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
        anchors, class_preds, box_preds = net(images)
    class_preds, box_preds = class_preds.float(), box_preds.float()
    if targets is None:
        targets = multibox_target(anchors, labels)
    box_labels, box_masks, class_labels = targets
    loss = calc_loss(class_preds, class_labels, box_preds, box_labels, box_masks).mean()
    loss.backward()
    optimizer.step()
    correct = float((class_preds.argmax(dim=-1).type(class_labels.dtype) == class_labels).sum())
    box_error = float(torch.abs((box_labels - box_preds) * box_masks).sum())
    return float(loss), correct, box_error


# ---------------------------------------------------------------- data

class ShapesDataset(torch.utils.data.Dataset):
    """`(image float (3, S, S) in [0, 1], labels (max_objects, 5))` from a banana-layout
    split folder (`label.csv`, `images/`), decoded with PIL on every fetch."""

    def __init__(self, split_dir, image_size, max_objects=3):
        rows = {}
        with open(os.path.join(split_dir, "label.csv"), newline="") as file:
            for row in csv.DictReader(file):
                rows.setdefault(row["img_name"], []).append(row)
        self.paths, self.labels = [], []
        for name, objects in rows.items():
            path = os.path.join(split_dir, "images", name)
            with Image.open(path) as image:
                width, height = image.size
            labels = np.full((max_objects, 5), [-1, 0, 0, 0, 0], np.float32)
            valid = [o for o in objects if int(o["label"]) >= 0]
            for i, o in enumerate(valid):
                labels[i] = [int(o["label"]), float(o["xmin"]) / width,
                             float(o["ymin"]) / height, float(o["xmax"]) / width,
                             float(o["ymax"]) / height]
            self.paths.append(path)
            self.labels.append(torch.from_numpy(labels))
        self.image_size = image_size

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        with Image.open(self.paths[index]) as image:
            pixels = np.asarray(image.convert("RGB"))
        image = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255.0
        if tuple(image.shape[1:]) != (self.image_size, self.image_size):
            image = F.interpolate(image[None], size=(self.image_size, self.image_size),
                                  mode="bilinear", align_corners=False)[0]
        return image, self.labels[index]


def make_loader(split_dir, image_size, batch_size, max_objects=3, num_workers=0, seed=0):
    dataset = ShapesDataset(split_dir, image_size, max_objects)
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True,
                                       num_workers=num_workers, generator=generator)


def train_epoch(net, optimizer, loader, bfloat16=False):
    """One pass over `loader`, d2l's loop; returns `(images, mean loss)`."""
    net.train()
    count, loss_sum, steps = 0, 0.0, 0
    for images, labels in loader:
        loss, _, _ = train_step(net, optimizer, images, labels, bfloat16=bfloat16)
        count += images.shape[0]
        loss_sum += loss
        steps += 1
    return count, loss_sum / max(steps, 1)
