"""Image data: Fashion-MNIST (TFDS, IDX), image folders, synthetic glyphs, augmentation."""
