"""The notes' two ways to cut a token sequence into language-model minibatches, as tf.data."""

import numpy as np
import tensorflow as tf


def _check(function, indices, batch_size, num_steps):
    indices = np.asarray(indices)
    if indices.ndim != 1:
        raise ValueError(f"{function}: indices must be 1-D; received shape {indices.shape}")
    if indices.size and not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"{function}: indices must be integers; received dtype {indices.dtype}")
    for name, value in (("batch_size", batch_size), ("num_steps", num_steps)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{function}: {name} must be an integer >= 1; received {value!r}")
    return indices.astype(np.int32)


def holdout_split(indices, validation_fraction, num_steps, name="the corpus"):
    """`(train, validation)`: the last `validation_fraction` of the tokens is held out.

    The held-out tail must give at least one window of `num_steps` tokens and its next
    tokens; otherwise a `ValueError` names `name` and says what to change.

    Example:

    >>> train, validation = holdout_split(np.arange(100), 0.1, num_steps=4)
    >>> len(train), validation[:3]
    (90, array([90, 91, 92], dtype=int32))
    """
    indices = _check("holdout_split", indices, 1, num_steps)
    split = int(round(len(indices) * (1 - validation_fraction)))
    train, validation = indices[:split], indices[split:]
    if (len(validation) - 1) // num_steps < 1:
        raise ValueError(
            f"{name}: the held-out {len(validation)} tokens are too few for one window of "
            f"`num_steps` {num_steps}; use a longer text, a larger `validation_fraction` or "
            "a smaller `num_steps`")
    return train, validation


def random_windows(indices, num_steps, seed=None, epoch=0):
    """The `(X, Y)` windows of random sampling as NumPy arrays, in the order they are served.

    The corpus is cut into `m = (len(indices) - 1) // num_steps` adjacent, non-overlapping
    windows `X_j = indices[j*num_steps : (j+1)*num_steps]` with targets `Y_j` one token
    later. With a `seed`, the order is a permutation drawn from `(seed, epoch)` (a new
    order every epoch, the same order when the epoch is repeated); without, corpus order.
    Returns `(X, Y)` int32 of shape `(m, num_steps)`.
    """
    indices = _check("random_windows", indices, 1, num_steps)
    num_windows = (len(indices) - 1) // num_steps
    starts = np.arange(num_windows) * num_steps
    if seed is not None:
        starts = starts[np.random.default_rng([int(seed), int(epoch)]).permutation(num_windows)]
    offsets = starts[:, None] + np.arange(num_steps)[None, :]
    return indices[offsets], indices[offsets + 1]


def random_sampling_dataset(indices, batch_size, num_steps, seed=None, epoch=0):
    """Random sampling (notes: 随机采样) as a `tf.data.Dataset` of `(X, Y)` minibatches.

    Every window of `num_steps` tokens (see `random_windows`) appears once per epoch, in a
    random order, `batch_size` windows per batch; the last incomplete batch is dropped.
    Two adjacent windows of a batch, or of consecutive batches, are not adjacent in the
    corpus, so the hidden state must be re-initialized at every batch (the model is not
    `stateful`).

    For the notes' numbered corpus `1..32`, `num_steps=4`: the windows are `[1 2 3 4]`,
    `[5 6 7 8]`, ..., `[25 26 27 28]` (7 of them; `[29 30 31 32]` has no next token for its
    last target) and `Y` is each window plus one.

    Args:
        indices: 1-D integer token indices of the corpus.
        batch_size: windows per batch (the global batch).
        num_steps: time steps per window (>= 1).
        seed: seed of the order; `None` keeps corpus order (e.g. for evaluation).
        epoch: the epoch, mixed into the seed so each epoch has its own order.

    Returns:
        a `Dataset` of `(X, Y)`, both int32 `(batch_size, num_steps)`.

    Example:

    >>> ds = random_sampling_dataset(np.arange(1, 33), batch_size=2, num_steps=4, seed=0)
    >>> [x.shape for x, y in ds]
    [TensorShape([2, 4]), TensorShape([2, 4]), TensorShape([2, 4])]
    """
    indices = _check("random_sampling_dataset", indices, batch_size, num_steps)
    x, y = random_windows(indices, num_steps, seed=seed, epoch=epoch)
    if len(x) < batch_size:
        raise ValueError(
            f"random_sampling_dataset: the corpus of {len(indices)} tokens gives {len(x)} "
            f"windows of num_steps={num_steps}, fewer than one batch of batch_size="
            f"{batch_size}; use a longer text or smaller `batch_size`/`num_steps`"
        )
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size, drop_remainder=True)


def sequential_windows(indices, batch_size, num_steps):
    """The `(X, Y)` batches of sequential sampling as NumPy arrays `(k, batch, num_steps)`.

    The first `batch_size * L` tokens, `L = len(indices) // batch_size`, are laid into
    `batch_size` rows of `L` consecutive tokens; batch `i` is columns
    `[i*num_steps, (i+1)*num_steps)` of every row, `Y` one column later, for
    `k = (L - 1) // num_steps` batches.
    """
    indices = _check("sequential_windows", indices, batch_size, num_steps)
    row_length = len(indices) // batch_size
    num_batches = max((row_length - 1) // num_steps, 0)
    rows = indices[: batch_size * row_length].reshape(batch_size, row_length)
    width = num_batches * num_steps

    def windows(columns):
        return columns.reshape(batch_size, num_batches, num_steps).transpose(1, 0, 2)

    return windows(rows[:, :width]), windows(rows[:, 1:width + 1])


def sequential_sampling_dataset(indices, batch_size, num_steps):
    """Sequential (adjacent) sampling (notes: 相邻采样) as a `tf.data.Dataset`.

    The corpus is laid into `batch_size` rows and cut into consecutive
    `(batch_size, num_steps)` windows (see `sequential_windows`): row `r` of batch `i + 1`
    continues row `r` of batch `i` in the corpus. So the hidden state at the end of one
    batch is the right initial state of the next: train a `stateful` model, which carries
    the state from batch to batch (detached from the graph between them) and starts each
    epoch from zeros. Under a `tf.distribute` strategy each replica always receives the same
    rows of the global batch, so it carries the state of its own rows.

    For the notes' numbered corpus `1..32`, `batch_size=2`, `num_steps=4`: rows
    `[1..16]` and `[17..32]`, batches `X = [[1 2 3 4], [17 18 19 20]]`,
    `[[5 6 7 8], [21 22 23 24]]`, `[[9 10 11 12], [25 26 27 28]]`, `Y = X + 1`.

    Args:
        indices: 1-D integer token indices of the corpus.
        batch_size: rows (the global batch).
        num_steps: time steps per window (>= 1).

    Returns:
        a `Dataset` of `(X, Y)`, both int32 `(batch_size, num_steps)`, in corpus order.

    Example:

    >>> ds = sequential_sampling_dataset(np.arange(1, 33), batch_size=2, num_steps=4)
    >>> next(iter(ds))[0].numpy()
    array([[ 1,  2,  3,  4],
           [17, 18, 19, 20]], dtype=int32)
    """
    indices = _check("sequential_sampling_dataset", indices, batch_size, num_steps)
    x, y = sequential_windows(indices, batch_size, num_steps)
    if len(x) == 0:
        raise ValueError(
            f"sequential_sampling_dataset: the corpus of {len(indices)} tokens laid into "
            f"batch_size={batch_size} rows is too short for one window of num_steps="
            f"{num_steps} (each row needs num_steps + 1 tokens); use a longer text or "
            "smaller `batch_size`/`num_steps`"
        )
    return tf.data.Dataset.from_tensor_slices((x, y))
