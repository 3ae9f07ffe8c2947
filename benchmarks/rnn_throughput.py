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
    python -m benchmarks.rnn_throughput --units 32 --runs 1 --iters 2        # smoke run
"""

import argparse
import itertools
import statistics

import keras
import numpy as np
import tensorflow as tf

from benchmarks import harness
from kerasnotes.data.text.text_vocabulary import TextVocabulary
from kerasnotes.models.rnn_language_model import RNNLanguageModel


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=["rnn", "gru", "lstm"], default="gru")
    harness.add_int_flags(parser, units=(256, "hidden units"), vocab_size=(100, "vocabulary size"),
                          batch=(32, "batch size"), num_steps=(35, "time steps per window"),
                          runs=(5, "interleaved timed rounds (median reported)"),
                          iters=(10, "steps per timed round"))
    return parser.parse_args()


def plain_keras_model(cell, units, vocab_size):
    inputs = keras.Input((None,), dtype="int32")
    x = keras.ops.one_hot(inputs, vocab_size)
    layer = {"rnn": lambda: keras.layers.SimpleRNN(units, return_sequences=True),
             "gru": lambda: keras.layers.GRU(units, reset_after=False, return_sequences=True),
             "lstm": lambda: keras.layers.LSTM(units, return_sequences=True)}[cell]()
    return keras.Model(inputs, keras.layers.Dense(vocab_size)(layer(x)))


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
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    steps = {name: harness.train_step(model, loss_fn, keras.optimizers.Adam(1e-3), 1.0)
             for name, model in models.items()}
    variants = {name: cycling(step, batches) for name, step in steps.items()}
    with harness.session(f"{args.cell.upper()} language model training"):
        times = harness.interleaved(variants, args.runs, args.iters, warmup=3)
        report(args, models, times)
    harness.print_target("fused / plain Keras speed",
                         harness.ratio(times["plain Keras"], times["fused"]), ">= 0.95")


def cycling(step, batches):
    """`step` as a function of no arguments, on the next of `batches` at every call."""
    batch = itertools.cycle(batches)
    return lambda: step(*next(batch))


def report(args, models, times):
    chars = args.batch * args.num_steps
    print(f"{args.cell.upper()} language model, {args.units} units, vocabulary "
          f"{args.vocab_size}, batch {args.batch} x {args.num_steps} steps; median of "
          f"{args.runs} runs x {args.iters} training steps")
    reference = statistics.median(times["plain Keras"])
    for name in models:
        median = statistics.median(times[name])
        speed = harness.ratio(times["plain Keras"], times[name])
        print(f"  {name:12s} {chars / median:10.0f} chars/s  {1000 * median:8.1f} ms/step  "
              f"x{speed:.2f} of plain Keras (median per-run ratio; "
              f"ratio of medians x{reference / median:.2f})")


if __name__ == "__main__":
    main()
