"""Training throughput (characters/s) of RNNLanguageModel scratch vs fused vs plain Keras.

All three train the same network (one-hot inputs, one recurrent layer, dense output over the
vocabulary) with the same step: forward, cross-entropy, gradients, clipping to global norm
1, Adam update, compiled with `tf.function` (no XLA), on random `(batch, num_steps)` token
windows. "plain Keras" is a functional `keras.Model` of `ops.one_hot` + `keras.layers.GRU`
(`reset_after=False`; `SimpleRNN`, `LSTM` for the other cells) + `Dense`. Each time is the
median of `--runs` runs of `--iters` steps after a warm-up; runs of the three alternate so
that load from other processes hits all alike. Ratios > 1 mean faster than plain Keras.

    python -m benchmarks.rnn_throughput                    # GRU, 256 units, batch 32 x 35
    python -m benchmarks.rnn_throughput --cell lstm --units 128 --runs 5 --iters 10
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasnotes.data.text.text_vocabulary import TextVocabulary  # noqa: E402
from kerasnotes.models.rnn_language_model import RNNLanguageModel  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=["rnn", "gru", "lstm"], default="gru")
    parser.add_argument("--units", type=int, default=256, help="hidden units")
    parser.add_argument("--vocab-size", type=int, default=100, help="vocabulary size")
    parser.add_argument("--batch", type=int, default=32, help="batch size")
    parser.add_argument("--num-steps", type=int, default=35, help="time steps per window")
    parser.add_argument("--runs", type=int, default=5, help="timed runs (median reported)")
    parser.add_argument("--iters", type=int, default=10, help="steps per timed run")
    return parser.parse_args()


def plain_keras_model(cell, units, vocab_size):
    inputs = keras.Input((None,), dtype="int32")
    x = keras.ops.one_hot(inputs, vocab_size)
    layer = {"rnn": lambda: keras.layers.SimpleRNN(units, return_sequences=True),
             "gru": lambda: keras.layers.GRU(units, reset_after=False, return_sequences=True),
             "lstm": lambda: keras.layers.LSTM(units, return_sequences=True)}[cell]()
    return keras.Model(inputs, keras.layers.Dense(vocab_size)(layer(x)))


def training_step(model):
    optimizer = keras.optimizers.Adam(1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        grads, _ = tf.clip_by_global_norm(grads, 1.0)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return step


def time_steps(step, batches, iters):
    start = time.perf_counter()
    for i in range(iters):
        loss = step(*batches[i % len(batches)])
    float(loss)
    return (time.perf_counter() - start) / iters


def main():
    args = parse_args()
    keras.utils.set_random_seed(0)
    vocabulary = TextVocabulary(["<unk>"] + [chr(0x4E00 + i) for i in range(args.vocab_size - 1)])
    rng = np.random.default_rng(0)
    batches = [tuple(tf.constant(rng.integers(0, args.vocab_size, (args.batch, args.num_steps)),
                                 tf.int32) for _ in range(2)) for _ in range(4)]
    models = {
        "scratch": RNNLanguageModel(vocabulary, args.cell, args.units, implementation="scratch"),
        "fused": RNNLanguageModel(vocabulary, args.cell, args.units, implementation="fused"),
        "plain Keras": plain_keras_model(args.cell, args.units, args.vocab_size),
    }
    steps = {}
    for name, model in models.items():
        steps[name] = training_step(model)
        for _ in range(3):  # warm-up: trace and run
            float(steps[name](*batches[0]))
    times = {name: [] for name in models}
    for _ in range(args.runs):
        for name in models:
            times[name].append(time_steps(steps[name], batches, args.iters))
    chars = args.batch * args.num_steps
    print(f"{args.cell.upper()} language model, {args.units} units, vocabulary "
          f"{args.vocab_size}, batch {args.batch} x {args.num_steps} steps; median of "
          f"{args.runs} runs x {args.iters} training steps")
    reference = statistics.median(times["plain Keras"])
    for name in models:
        median = statistics.median(times[name])
        ratios = [k / t for t, k in zip(times[name], times["plain Keras"])]
        print(f"  {name:12s} {chars / median:10.0f} chars/s  {1000 * median:8.1f} ms/step  "
              f"x{statistics.median(ratios):.2f} of plain Keras (median per-run ratio; "
              f"ratio of medians x{reference / median:.2f})")


if __name__ == "__main__":
    main()
