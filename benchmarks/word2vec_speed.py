"""Where word2vec time goes: the tf.data pipeline vs a Python one, and the training step.

    python benchmarks/word2vec_speed.py                 # first 10000 PTB sentences

1. Pipeline: one epoch of skip-gram batches (subsampling, random windows, K = 5 noise
   words per context word never equal to a context word, padding, masks, labels) from
   `make_word2vec_dataset` vs a plain-Python reference written the way d2l does it (loops
   over sentences and tokens, cached `random.choices` for the noise words), on the same tokens.
   Prints the words/s of each and the ratio (median of --repeats).
2. Step: one SkipGram training step (batch 512, d = 100, 60 context/noise slots) with
   Keras' Adam, whose update touches every row of both embedding tables (dense m and v),
   with kerasnotes' LazyAdam (the apps.word2vec default), which gathers and scatters only
   the rows of the batch (IndexedSlices), and with plain SGD, which scatters only those
   rows too. Prints the median step time of each and the ratios to SGD: the optimizer's
   share of the step.
3. Scores: the skip-gram forward and backward pass (lookups, scores u_o^T v_c, masked
   loss, gradients) with the einsum `SkipGram` uses vs `matmul(v, transpose(u))`, which
   copies u and its gradient. Prints the median time of each and the ratio.
"""

import argparse
import os
import random
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CORPUS = os.path.join(os.path.dirname(PROJECT), "shared", "data", "ptb", "ptb.train.txt")


def python_reference_epoch(sentences, counts, batch_size, window=5, k=5, t=1e-4, seed=0):
    """d2l's way: per-token loops; yields the same padded batch layout as ours."""
    rng = random.Random(seed)
    total = sum(counts)
    sub = [[w for w in s if rng.random() >= max(1 - (t / (counts[w] / total)) ** 0.5, 0)]
           for s in sentences]
    population = list(range(len(counts)))
    weights = [c ** 0.75 for c in counts]
    cache = []  # d2l's RandomGenerator: 10000 draws at a time
    rows, words = [], 0
    for s in sub:
        for i, center in enumerate(s):
            size = rng.randint(1, window)
            contexts = s[max(0, i - size):i] + s[i + 1:i + 1 + size]
            if not contexts:
                continue
            negatives = []
            while len(negatives) < len(contexts) * k:
                if not cache:
                    cache = rng.choices(population, weights, k=10000)
                w = cache.pop()
                if w not in contexts:
                    negatives.append(w)
            width = 2 * window * (1 + k)
            filled = contexts + negatives
            rows.append(([center], filled + [0] * (width - len(filled)),
                         [1] * len(filled) + [0] * (width - len(filled)),
                         [1] * len(contexts) + [0] * (width - len(contexts))))
            words += 1
            if len(rows) == batch_size:
                rows = []
    return words


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--sentences", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, PROJECT)
    import keras
    import numpy as np
    import tensorflow as tf

    from kerasnotes.data.text.ptb_corpus import encode_corpus, read_ptb_sentences
    from kerasnotes.data.text.word2vec_dataset import make_word2vec_dataset
    from kerasnotes.data.text.word2vec_vocabulary import Word2VecVocabulary
    from kerasnotes.losses.masked_binary_cross_entropy import masked_binary_cross_entropy
    from kerasnotes.models.skip_gram import SkipGram
    from kerasnotes.optimizers.lazy_adam import LazyAdam

    sentences = read_ptb_sentences(args.corpus)
    vocabulary = Word2VecVocabulary.from_sentences(sentences, min_count=5)
    corpus = encode_corpus(sentences[:args.sentences], vocabulary)
    counts = corpus.counts
    ids = [[int(i) for i in vocabulary.encode(s) if i] for s in sentences[:args.sentences]]

    ours, reference = [], []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        words = 0
        for batch in make_word2vec_dataset(corpus.token_ids, corpus.sentence_ids, counts, 512,
                                           seed=repeat):
            words += int(batch[0].shape[0])
        ours.append(words / (time.perf_counter() - start))
        start = time.perf_counter()
        words = python_reference_epoch(ids, counts.tolist(), 512, seed=repeat)
        reference.append(words / (time.perf_counter() - start))
    ours_rate, reference_rate = statistics.median(ours), statistics.median(reference)
    print(f"pipeline words/s: tf.data {ours_rate:,.0f}  python reference {reference_rate:,.0f}"
          f"  ratio {ours_rate / reference_rate:.1f}")

    rng = np.random.default_rng(0)
    size = len(vocabulary)
    centers = tf.constant(rng.integers(1, size, (512, 1)), tf.int32)
    slots = tf.constant(rng.integers(1, size, (512, 60)), tf.int32)
    labels = tf.constant((rng.random((512, 60)) < 0.1).astype("float32"))
    masks = tf.constant((rng.random((512, 60)) < 0.6).astype("float32"))
    times = {}
    for name, optimizer in [("adam", keras.optimizers.Adam(0.002)),
                            ("lazy_adam", LazyAdam(0.002)),
                            ("sgd", keras.optimizers.SGD(1.0))]:
        model = SkipGram(size, 100)
        model.build()

        @tf.function
        def step(model=model, optimizer=optimizer):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(masked_binary_cross_entropy(
                    labels, model((centers, slots))[:, 0], masks))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss

        step()
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(10):
                step()
            samples.append((time.perf_counter() - start) / 10)
        times[name] = statistics.median(samples)
    print(f"training step (batch 512): adam {times['adam'] * 1000:.1f} ms  "
          f"lazy_adam {times['lazy_adam'] * 1000:.1f} ms  sgd {times['sgd'] * 1000:.1f} ms  "
          f"ratio adam/sgd {times['adam'] / times['sgd']:.1f}  "
          f"lazy_adam/sgd {times['lazy_adam'] / times['sgd']:.1f}  "
          f"adam/lazy_adam {times['adam'] / times['lazy_adam']:.1f}")

    tables = [tf.Variable(rng.normal(size=(size, 100)).astype("float32") * 0.01)
              for _ in range(2)]
    scorers = {"einsum": lambda v, u: keras.ops.einsum("bid,bjd->bij", v, u),
               "matmul_transpose": lambda v, u: keras.ops.matmul(
                   v, keras.ops.transpose(u, (0, 2, 1)))}
    passes = {}
    for name, scores in scorers.items():

        @tf.function
        def forward_backward(scores=scores):
            with tf.GradientTape() as tape:
                v, u = tf.gather(tables[0], centers), tf.gather(tables[1], slots)
                loss = tf.reduce_mean(masked_binary_cross_entropy(labels, scores(v, u)[:, 0],
                                                                  masks))
            return [tf.reduce_sum(g.values) for g in tape.gradient(loss, tables)]

        forward_backward()
        passes[name] = forward_backward
    samples = {name: [] for name in passes}
    for _ in range(5):  # interleaved, so that a burst of load hits both
        for name, forward_backward in passes.items():
            start = time.perf_counter()
            for _ in range(10):
                forward_backward()
            samples[name].append((time.perf_counter() - start) / 10)
    einsum, matmul = (statistics.median(samples[n]) for n in ("einsum", "matmul_transpose"))
    print(f"forward+backward (batch 512): einsum {einsum * 1000:.1f} ms  "
          f"matmul+transpose {matmul * 1000:.1f} ms  ratio matmul/einsum {matmul / einsum:.2f}")


if __name__ == "__main__":
    main()
