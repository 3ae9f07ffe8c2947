"""The PyTorch TinySSD a performance-minded user writes, beside d2l's code as written, and the
worker process of `python -m benchmarks.ssd_speed --vs-pytorch` that times them all
(`python -m benchmarks.peers.tinyssd_torch_tuned --worker torch --threads N --batch B`:
PyTorch alone in its process, N threads; the benchmark starts it with `--peer-python`).

The model, anchors, `multibox_target`, loss, SGD and d2l's training step are d2l's
(benchmarks/peers/tinyssd_torch.py); the variants change only how they are run:

- `d2l`: d2l's code as written: NCHW, each JPEG decoded with PIL on every fetch, a
  `DataLoader` without workers, `multibox_target` in every step;
- `channels_last`: the model and every input batch in `torch.channels_last`; the images
  decoded once and kept in memory as a tensor (as d2l does with its bananas), batched by a
  `DataLoader` over a `TensorDataset`; `multibox_target` in the step;
- `channels_last+workers`: the same, with a `DataLoader` worker process
  (`num_workers=1`, persistent) that batches and computes `multibox_target` for the batch
  in its `collate_fn` (the anchors are fixed for an image size), so the main process only
  runs the step;
- `compiled`, `compiled+workers`: the two above with `torch.compile(net)` (inductor).

The bf16 rows run the forward pass under `torch.autocast("cpu", dtype=torch.bfloat16)` (the
loss and the optimizer in float32) in every variant.

Example:

>>> peer = Peer(128, "data_cache/.../train", batch=32, variants=["channels_last"])
>>> peer.steps("channels_last", count=3, bfloat16=True)   # seconds per step
>>> peer.epoch("channels_last", bfloat16=True)            # seconds per epoch
"""

import argparse
import functools
import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset, default_collate

from benchmarks import harness
from benchmarks.peers import tinyssd_torch as d2l

VARIANTS = ("d2l", "channels_last", "channels_last+workers", "compiled", "compiled+workers")


def decoded_once(split_dir, image_size, max_objects=3):
    """`(images float (n, 3, S, S) in [0, 1], labels (n, max_objects, 5))`: every image of
    the split decoded with PIL once."""
    dataset = d2l.ShapesDataset(split_dir, image_size, max_objects)
    images = torch.stack([dataset[i][0] for i in range(len(dataset))])
    return images, torch.stack(dataset.labels)


def collate_with_targets(anchors, samples):
    """The default batch of `samples`, plus d2l's `multibox_target` for it (in a worker)."""
    images, labels = default_collate(samples)
    return images, labels, d2l.multibox_target(anchors, labels)


class Variant:
    """One variant's model, optimizer and loader at one image size."""

    def __init__(self, name, size, split_dir, batch, in_memory):
        self.name = name
        self.net = d2l.TinySSD(num_classes=4)
        self.channels_last = name != "d2l"
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.optimizer = d2l.make_optimizer(self.net)
        with torch.no_grad():
            anchors = self.net(torch.zeros(1, 3, size, size))[0]
        generator = torch.Generator().manual_seed(0)
        if name == "d2l":
            self.loader = d2l.make_loader(split_dir, size, batch)
        elif name.endswith("+workers"):
            self.loader = DataLoader(TensorDataset(*in_memory), batch_size=batch, shuffle=True,
                                     generator=generator, num_workers=1,
                                     persistent_workers=True, prefetch_factor=4,
                                     collate_fn=functools.partial(collate_with_targets, anchors))
        else:
            self.loader = DataLoader(TensorDataset(*in_memory), batch_size=batch, shuffle=True,
                                     generator=generator)
        if name.startswith("compiled"):
            self.net = torch.compile(self.net)
        batch_ = next(iter(self.loader))
        self.images, self.labels = self.prepare(batch_[0]), batch_[1]
        self.targets = d2l.multibox_target(anchors, self.labels) if len(batch_) > 2 else None

    def prepare(self, images):
        if self.channels_last:
            return images.contiguous(memory_format=torch.channels_last)
        return images

    def step(self, images, labels, bfloat16, targets=None):
        return d2l.train_step(self.net, self.optimizer, images, labels, bfloat16, targets)

    def steps(self, count, bfloat16):
        """Seconds of each of `count` steps on the fixed batch (targets in the step unless the
        variant computes them in its loader)."""
        return [harness.time_steps(lambda: self.step(self.images, self.labels, bfloat16,
                                                     self.targets))
                for _ in range(count)]

    def epoch(self, bfloat16):
        """Seconds of one pass over the loader, d2l's loop."""
        def run():
            self.net.train()
            for batch in self.loader:
                self.step(self.prepare(batch[0]), batch[1], bfloat16,
                          batch[2] if len(batch) > 2 else None)

        return harness.time_steps(run)


class Peer:
    """The variants at one image size (each with its own model), timed on request."""

    def __init__(self, size, split_dir, batch, variants=VARIANTS):
        in_memory = decoded_once(split_dir, size) if set(variants) - {"d2l"} else None
        self.variants = {name: Variant(name, size, split_dir, batch, in_memory)
                         for name in variants}

    def steps(self, variant, count, bfloat16):
        return self.variants[variant].steps(count, bfloat16)

    def epoch(self, variant, bfloat16):
        return self.variants[variant].epoch(bfloat16)


def main():
    parser = argparse.ArgumentParser(description="the PyTorch worker of benchmarks.ssd_speed")
    parser.add_argument("--worker", choices=["torch"], required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    np.random.seed(0)
    warnings.filterwarnings("ignore")
    peers = {}

    def setup(key, size, split_dir, variants):
        peers[key] = Peer(size, split_dir, args.batch, variants)
        return {"torch": torch.__version__}

    harness.serve({"setup": setup,
                   "steps": lambda key, **request: peers[key].steps(**request),
                   "epoch": lambda key, **request: peers[key].epoch(**request)})


if __name__ == "__main__":
    main()
