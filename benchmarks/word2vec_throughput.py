"""word2vec on PTB: kerasnotes vs gensim and fastText (interleaved rounds), and the Keras path's
parts.

    python -m benchmarks.word2vec_throughput --peer-python /work/peervenv/bin/python \
        [--epochs 2] [--rounds 2]                 # the four modes, the target lines at the end
    python -m benchmarks.word2vec_throughput --model cbow --loss hierarchical   # one mode
    python -m benchmarks.word2vec_throughput --epochs 5 --rounds 1          # quality
    python -m benchmarks.word2vec_throughput --implementation fused_tf      # no kernel
    python -m benchmarks.word2vec_throughput --implementation keras --lr 0.01  # the notes'
    python -m benchmarks.word2vec_throughput --epochs 1 --rounds 1 --no-fasttext  # smoke run
    python -m benchmarks.word2vec_throughput --model cbow --loss hierarchical --tree gensim \
        --epochs 5 --rounds 20 --no-fasttext      # the HS training alone, on gensim's tree
    python -m benchmarks.word2vec_throughput --parts [--sentences 10000] [--repeats 3]
    python -m benchmarks.word2vec_throughput --parts --sentences 300 --repeats 1  # smoke run

The peers (benchmark only, never dependencies of kerasnotes) run in their own process
(benchmarks/peers/word2vec_peers.py) with the interpreter `--peer-python` (default this
one), so that they can live in a venv of their own beside the project's:
    python3 -m venv /work/peervenv
    /work/peervenv/bin/pip install numpy gensim==4.4.0 fasttext-wheel==0.9.2

Modes: `--model skipgram cbow` x `--loss negative hierarchical` (default: all four; the
Keras path: skip-gram with negative sampling only). Same settings on every side:
../shared/data/ptb/ptb.train.txt with `<unk>` removed, min count 5, vectors of 100, window 5
(a random size 1..5 per center), 5 noise words (or hierarchical softmax), subsampling
t = 1e-4, SGD from --lr decaying linearly (to 1e-4; fastText to 0), --threads threads,
--epochs epochs. gensim: `Word2Vec(sg=1 (0 for CBOW, cbow_mean=1), negative=5 (hs=1,
negative=0), window=5, sample=1e-4, alpha=lr, min_alpha=1e-4, workers=threads)`. fastText
0.9.2 (pip `fasttext-wheel`): `train_unsupervised(model="skipgram"|"cbow", loss="ns"|"hs",
dim=100, ws=5, neg=5, t=1e-4, minCount=5, minn=0, maxn=0, bucket=0, thread=threads)`:
plain word vectors, no subwords (its noise words come from `count ** 0.5`, which it does not
let one change). kerasnotes: `FusedWord2Vec` (apps.word2vec's default path: the C++ kernel,
or the TF ops with --implementation fused_tf).

Counting, the same on every side: *words trained per second* = the corpus words kept after
subsampling (gensim's "effective words", which `Word2Vec.train` returns; the kernel counts
the same), over the wall time of the training calls. kerasnotes is given gensim's
(word2vec.c's) subsampling formula, keep probability `sqrt(t/f) + t/f`, so both train the
same number of words per epoch (with `--subsampling notes`, kerasnotes keeps `sqrt(t/f)` as
the notes and apps.word2vec do: fewer words per epoch, the same work per word). fastText
reports only raw words/s (every token it reads, over its training time, its vocabulary pass
excluded): its kept words/s are that rate times the fraction it keeps in expectation under
the same formula (which it uses too) over its own vocabulary counts, ~0.50 on PTB (its
end-of-line token included). Raw corpus words/s are printed too. Each round trains a fresh
model on each side, the sides in a rotating order; a ratio is the median of the per-round
ratios. The top-5 neighbours of the probe words after the last round are printed side by
side, and each side's word similarity: Spearman's correlation of its cosines with human
scores on WordSim-353 and SimLex-999 (the copies gensim ships; the pairs whose words are in
every side's vocabulary: ~236 and ~572 on PTB), the mean over the rounds. One training's
Spearman varies by ~0.03 with the seed, so with 2 or more rounds the difference kerasnotes -
peer is printed with its bootstrap 95% interval and sign-flip p-value over the rounds
(`paired_difference_test`), and called equal only when the interval lies within +-0.03
(EQUAL_MARGIN): a few rounds resolve ~0.05, twenty ~0.02. The run ends
with one `target:` line per mode (kerasnotes / gensim; goals: skip-gram with negative
sampling 2.0x, the other modes 1.5x).

`--parts` (no peers): where the Keras path's time goes, in interleaved rounds.
1. Pipeline: one epoch of skip-gram batches (subsampling, random windows, K = 5 noise
   words per context word never equal to a context word, padding, masks, labels) from
   `make_word2vec_dataset` vs a plain-Python reference written the way d2l does it (loops
   over sentences and tokens, cached `random.choices` for the noise words), on the first
   --sentences sentences. Prints the words/s of each and the ratio (median of --repeats).
2. Step: one SkipGram training step (batch 512, d = 100, 60 context/noise slots) with
   Keras' Adam, whose update touches every row of both embedding tables (dense m and v),
   with kerasnotes' LazyAdam, which gathers and scatters only the rows of the batch
   (IndexedSlices), and with plain SGD, which scatters only those rows too. Prints the
   median step time of each and the ratios to SGD: the optimizer's share of the step.
3. Scores: the skip-gram forward and backward pass (lookups, scores u_o^T v_c, masked
   loss, gradients) with the einsum `SkipGram` uses vs `matmul(v, transpose(u))`, which
   copies u and its gradient. Prints the median time of each and the ratio.
"""

import argparse
import itertools
import os
import random
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from benchmarks import harness
from kerasnotes.data.text.ptb_corpus import encode_corpus, load_ptb_corpus, read_ptb_sentences
from kerasnotes.data.text.word2vec_dataset import make_word2vec_dataset, subsampled_centers
from kerasnotes.data.text.word2vec_examples import (
    sampling_tables,
    sentence_examples,
    sentence_splits,
)
from kerasnotes.data.text.word2vec_vocabulary import Word2VecVocabulary
from kerasnotes.losses.masked_binary_cross_entropy import (
    MaskedBinaryCrossEntropy,
    masked_binary_cross_entropy,
)
from kerasnotes.metrics.significance import ALPHA, format_p, paired_difference_test
from kerasnotes.models.skip_gram import SkipGram
from kerasnotes.models.word2vec_fused import FusedWord2Vec
from kerasnotes.ops.embedding_queries import most_similar
from kerasnotes.optimizers.lazy_adam import LazyAdam
from kerasnotes.training.trainer import Trainer

DEFAULT_CORPUS = os.path.join(os.path.dirname(harness.ROOT), "shared", "data", "ptb",
                              "ptb.train.txt")
PROBES = ("chip", "intel", "baby", "market")
# Two sides count as equally good on a similarity score when the 95% interval of their mean
# difference lies within this: about one training's seed-to-seed spread.
EQUAL_MARGIN = 0.03
D2L_CHIP = ("intel", "microprocessor", "chips")
# Printed under a hierarchical-softmax mode's scores when each side uses its own tree.
TREE_CAVEAT = ("  (each side trained on its own Huffman tree: both optimal, they differ in how "
               "ties among equal counts are broken, which alone moves WordSim-353 by up to "
               "~0.05; --tree gensim compares the training alone)")


def gensim_keep_probabilities(counts, t):
    """word2vec.c's / gensim's keep probability `min(1, sqrt(t/f) + t/f)`."""
    counts = np.asarray(counts, np.float64)
    threshold = t * counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (np.sqrt(counts / threshold) + 1.0) * (threshold / counts)
    return np.where(counts > 0, np.minimum(keep, 1.0), 1.0).astype(np.float32)


def tree_arrays(tree, tokens):
    """`(paths, codes, lengths)` for `tokens` (kerasnotes' vocabulary) from a peer's Huffman
    tree `{word: [inner nodes from the root, codes]}`, as `SamplingTables` holds them. A
    token the peer's tree lacks (`<unk>`, which never occurs in the corpus) gets the path of
    the tree's shortest code, so that every row stays a valid path."""
    shortest = min(tree.values(), key=lambda path_code: len(path_code[0]))
    rows = [tree.get(token, shortest) for token in tokens]
    depth = max(len(path) for path, _ in rows)
    paths = np.zeros((len(tokens), depth), np.int32)
    codes = np.zeros((len(tokens), depth), np.int32)
    lengths = np.array([len(path) for path, _ in rows], np.int32)
    for i, (path, code) in enumerate(rows):
        paths[i, :len(path)] = path
        codes[i, :len(code)] = code
    return paths, codes, lengths


def train_kerasnotes(corpus, args, seed):
    backend = "tf" if args.implementation == "fused_tf" else "kernel"
    model = FusedWord2Vec(corpus.counts, 100, model=args.model, loss=args.loss, window=5,
                          negatives=5, subsample_t=1e-4, backend=backend, threads=args.threads,
                          seed=seed)
    if args.subsampling == "gensim":
        model.tables.keep = gensim_keep_probabilities(corpus.counts, 1e-4)
    if args.loss == "hierarchical" and args.peer_tree is not None:
        paths, codes, lengths = tree_arrays(args.peer_tree, corpus.vocabulary.tokens)
        if paths.max() >= model.tables.output_rows:
            raise SystemExit("error: --tree gensim: gensim's tree has more inner nodes than "
                             "kerasnotes' vocabulary has rows")
        model.tables.paths, model.tables.codes, model.tables.lengths = paths, codes, lengths
    splits = sentence_splits(corpus.sentence_ids)
    total = args.epochs * corpus.num_tokens
    kept = raw = 0
    seconds = 0.0
    for epoch in range(args.epochs):
        start = time.perf_counter()
        stats = model.train_epoch(corpus.token_ids, splits, epoch, args.lr, 1e-4,
                                  epoch * corpus.num_tokens, total)
        seconds += time.perf_counter() - start
        kept += stats["kept_words"]
        raw += stats["raw_words"]
    print(f"  kerasnotes ({model.describe()}): {kept} words in {seconds:.2f} s = "
          f"{kept / seconds:,.0f} words/s ({raw / seconds:,.0f} raw), last epoch loss "
          f"{stats['loss']:.4f}", flush=True)
    return model.word_vectors.numpy(), kept / seconds


def pipeline_rate(corpus, args):
    """Words/s of the TF path's input pipeline alone (NumPy examples, one epoch)."""
    tables = sampling_tables(corpus.counts, 1e-4, args.loss)
    splits = sentence_splits(corpus.sentence_ids)
    rng = np.random.default_rng(0)
    bounds = list(range(0, splits.size - 1, 200)) + [splits.size - 1]
    start, kept = time.perf_counter(), 0
    for first, last in zip(bounds[:-1], bounds[1:]):
        kept += sentence_examples(corpus.token_ids, splits, first, last, tables, 5, args.model,
                                  args.loss, 5, rng).kept_words
    return kept / (time.perf_counter() - start)


def train_keras(corpus, args, seed):
    """The notes' Keras SkipGram through the Trainer (LazyAdam, batch 512)."""
    keras.utils.set_random_seed(seed)
    model = SkipGram(len(corpus.vocabulary), 100)
    model.build()
    trainer = Trainer(model, MaskedBinaryCrossEntropy(), LazyAdam(args.lr), verbose=0)

    def data(epoch):
        return make_word2vec_dataset(corpus.token_ids, corpus.sentence_ids, corpus.counts,
                                     512, window=5, num_negatives=5, subsample_t=1e-4,
                                     seed=seed, epoch=epoch, for_training=True)

    words = sum(int(subsampled_centers(corpus.token_ids, corpus.sentence_ids, corpus.counts,
                                       1e-4, seed, epoch)[2].shape[0])
                for epoch in range(args.epochs))
    start = time.perf_counter()
    trainer.fit(data, epochs=args.epochs)
    seconds = time.perf_counter() - start
    print(f"  kerasnotes (Keras SkipGram, LazyAdam, batch 512): {words} centers in "
          f"{seconds:.1f} s = {words / seconds:,.0f} words/s", flush=True)
    return model.word_vectors.numpy(), words / seconds


MODES = {("skipgram", "negative"): ("skip-gram NS", "2.0x"),
         ("cbow", "negative"): ("CBOW NS", "1.5x"),
         ("skipgram", "hierarchical"): ("skip-gram HS", "1.5x"),
         ("cbow", "hierarchical"): ("CBOW HS", "1.5x")}  # name, goal vs gensim


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS, help="PTB-format text file")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per training (default 2)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="interleaved rounds, each side once per round (default 2)")
    parser.add_argument("--model", nargs="+", choices=["skipgram", "cbow"],
                        help="default: both (keras: skipgram)")
    parser.add_argument("--loss", nargs="+", choices=["negative", "hierarchical"],
                        help="default: both (keras: negative)")
    parser.add_argument("--implementation", choices=["fused", "fused_tf", "keras"],
                        default="fused")
    parser.add_argument("--subsampling", choices=["gensim", "notes"], default="gensim",
                        help="kerasnotes' keep probability (see above; default gensim's)")
    parser.add_argument("--lr", type=float, default=0.1,
                        help="start of the linear decay, every side (default 0.1)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tree", choices=["ours", "gensim"], default="ours",
                        help="hierarchical softmax: kerasnotes' own Huffman tree (default) or "
                             "gensim's. Both are optimal and differ only in how they break "
                             "ties among equal counts, which moves WordSim-353 by up to "
                             "~0.05 (RESULTS.md); `gensim` compares the training alone")
    parser.add_argument("--no-fasttext", dest="fasttext", action="store_false",
                        help="gensim only (fastText: pip fasttext-wheel in --peer-python)")
    harness.add_peer_python(parser)
    parser.add_argument("--parts", action="store_true",
                        help="time the Keras path's parts instead (no peers)")
    parser.add_argument("--sentences", type=int, default=10000, help="--parts: sentences")
    parser.add_argument("--repeats", type=int, default=3, help="--parts: pipeline rounds")
    args = parser.parse_args()
    if args.parts:
        with harness.session("word2vec, the Keras path's parts"):
            keras_parts(args)
        return
    keras_only = args.implementation == "keras"
    models = args.model or (["skipgram"] if keras_only else ["skipgram", "cbow"])
    losses = args.loss or (["negative"] if keras_only else ["negative", "hierarchical"])
    if keras_only and (models, losses) != (["skipgram"], ["negative"]):
        parser.error("--implementation keras trains skip-gram with negative sampling only")
    harness.require_in(args.peer_python, "gensim", "gensim==4.4.0")
    if args.fasttext:
        harness.require_in(args.peer_python, "fasttext", "fasttext-wheel==0.9.2")
    peers = ["gensim", "fasttext"] if args.fasttext else ["gensim"]
    ratios = {}
    with harness.session(f"word2vec on PTB, kerasnotes vs {' and '.join(peers)} (peers in "
                         f"{args.peer_python})", threads=args.threads):
        worker = harness.Worker("benchmarks.peers.word2vec_peers", "word2vec", args.threads,
                                python=args.peer_python)
        try:
            worker(op="setup", corpus=args.corpus)
            corpus = load_ptb_corpus(args.corpus, min_count=5)
            pairs = worker(op="word_pairs")
            args.peer_tree = worker(op="huffman_tree") if args.tree == "gensim" else None
            for loss in losses:
                for model in models:
                    mode = argparse.Namespace(**{**vars(args), "model": model, "loss": loss})
                    ratios[model, loss] = compare(mode, corpus, worker, peers, pairs)
        finally:
            worker.close()
    for (model, loss), ratio in ratios.items():
        name, goal = MODES[model, loss]
        harness.print_target(f"word2vec {name} vs gensim", ratio["gensim"], goal)


def spearman(x, y):
    """Spearman's rank correlation (ties get their average rank)."""
    def ranks(values):
        values = np.asarray(values, np.float64)
        order = np.argsort(values, kind="stable")
        rank = np.empty(values.size)
        rank[order] = np.arange(values.size)
        _, tie, count = np.unique(values, return_inverse=True, return_counts=True)
        return (np.bincount(tie, rank) / count)[tie]
    return float(np.corrcoef(ranks(x), ranks(y))[0, 1])


def our_cosines(vectors, vocabulary, pairs):
    """The cosine of each pair `[a, b, score]` in `vectors` (None: a word not in it)."""
    index = {token: i for i, token in enumerate(vocabulary.tokens) if i > 0}  # not <unk>
    unit = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12)
    return [float(unit[index[a]] @ unit[index[b]]) if a in index and b in index else None
            for a, b, _ in pairs]


def similarity_scores(cosines, pairs):
    """`{dataset: {side: [Spearman(cosines, human scores) of each round]}, "n": pairs}` over
    the pairs that every side's vocabulary holds (cosines[side][round][dataset])."""
    result = {}
    for name, rows in pairs.items():
        sides = list(cosines)
        common = [i for i in range(len(rows)) if rows[i][0] != rows[i][1] and all(
            c[name][i] is not None for side in sides for c in cosines[side])]
        human = [rows[i][2] for i in common]
        result[name] = {side: [spearman([c[name][i] for i in common], human)
                               for c in cosines[side]] for side in sides}
        result[name]["n"] = len(common)
    return result


def quality_difference(ours, theirs):
    """`kerasnotes - peer` of one similarity score over the rounds: round r's trainings on
    the two sides are independent, so the per-round differences are i.i.d. and, if the two
    are equally good, symmetric about 0: their mean, bootstrap 95% interval and sign-flip
    p-value (`paired_difference_test`). The words say "equal" only when the interval lies
    within +-EQUAL_MARGIN."""
    result = paired_difference_test(np.subtract(ours, theirs))
    low, high = result.interval
    if -EQUAL_MARGIN <= low and high <= EQUAL_MARGIN:
        words = f"equal within +-{EQUAL_MARGIN:.2f}"
    elif result.p_value < ALPHA:
        words = "kerasnotes better" if result.mean > 0 else "kerasnotes worse"
    else:
        words = f"no significant difference, not resolved to +-{EQUAL_MARGIN:.2f}"
    return (f"{result.mean:+.3f} (95% CI [{low:+.3f}, {high:+.3f}], "
            f"{format_p(result.p_value)}, {len(ours)} rounds): {words}")


def compare(args, corpus, worker, peers, pairs):
    """One mode (`args.model`, `args.loss`): interleaved rounds of kerasnotes and `peers`
    (in `worker`), neighbours and word similarity (Spearman on WordSim-353 and SimLex-999,
    `pairs`, mean over the rounds); returns `{peer: median of kerasnotes/peer per round}`."""
    name = MODES[args.model, args.loss][0]
    print(f"\n{name}: {args.corpus}: {corpus.num_tokens} tokens, vocabulary "
          f"{len(corpus.vocabulary)}; {args.model}, {args.loss}, {args.epochs} epoch(s), "
          f"{args.threads} threads, lr {args.lr}"
          + (", kerasnotes on gensim's Huffman tree" if args.loss == "hierarchical"
             and args.tree == "gensim" else ""), flush=True)
    ours_train = train_keras if args.implementation == "keras" else train_kerasnotes
    if args.implementation == "fused_tf":
        print(f"input pipeline alone (NumPy examples of the TF path): "
              f"{pipeline_rate(corpus, args):,.0f} words/s")
    sides = ["kerasnotes", *peers]
    rates = {side: [] for side in sides}
    cosines = {side: [] for side in sides}
    for round_ in range(args.rounds):
        print(f"round {round_ + 1}/{args.rounds} (load {os.getloadavg()[0]:.2f}):", flush=True)
        seed = args.seed + round_
        for side in sides[round_ % len(sides):] + sides[:round_ % len(sides)]:
            if side == "kerasnotes":
                vectors, rate = ours_train(corpus, args, seed)
                cosines[side].append({name: our_cosines(vectors, corpus.vocabulary, rows)
                                      for name, rows in pairs.items()})
            else:
                answer = worker(op="train", side=side, model=args.model, loss=args.loss,
                                epochs=args.epochs, lr=args.lr, seed=seed)
                rate = answer["words"]
                print(f"  {answer['note']} = {rate:,.0f} words/s ({answer['raw']:,.0f} raw)",
                      flush=True)
                cosines[side].append({name: worker(op="cosines", side=side,
                                                   pairs=[row[:2] for row in rows])
                                      for name, rows in pairs.items()})
            rates[side].append(rate)
    ratios = {peer: statistics.median(o / p for o, p in zip(rates["kerasnotes"], rates[peer]))
              for peer in peers}
    print(f"{name}, words/s (kept after subsampling), median of {args.rounds} round(s): "
          + ", ".join(f"{side} {statistics.median(rates[side]):,.0f}" for side in sides))
    for peer in peers:
        each = ", ".join(f"{o / p:.3f}" for o, p in zip(rates["kerasnotes"], rates[peer]))
        print(f"  kerasnotes/{peer} {ratios[peer]:.3f} (per round: {each})")
    neighbours = {"kerasnotes": {word: [w for w, _ in most_similar(
        vectors, corpus.vocabulary, word, k=5, exclude=("<unk>",))] for word in PROBES}}
    for peer in peers:
        neighbours[peer] = worker(op="neighbours", side=peer, words=list(PROBES), k=5)
    for word in PROBES:
        for i, side in enumerate(sides):
            shown = ", ".join(neighbours[side][word])
            print(f"{word if i == 0 else '':>7}  {side + ':':11s} {shown}")
        if word == "chip":
            found = ", ".join(f"{side} {bool(set(neighbours[side][word]) & set(D2L_CHIP))}"
                              for side in sides)
            print(f"{'':>7}  d2l's chip neighbours (intel/microprocessor/chips) in top 5: {found}")
    for name, scores in similarity_scores(cosines, pairs).items():
        print(f"{name} Spearman ({scores.pop('n')} pairs in every vocabulary, mean of "
              f"{args.rounds} round(s)): "
              + ", ".join(f"{side} {statistics.mean(score):.3f}" for side, score in scores.items()))
        if args.rounds >= 2:
            for peer in peers:
                print(f"  kerasnotes - {peer}: "
                      + quality_difference(scores["kerasnotes"], scores[peer]))
    if args.loss == "hierarchical" and args.tree == "ours":
        print(TREE_CAVEAT)
    return ratios


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


def keras_parts(args):
    everything = read_ptb_sentences(args.corpus)
    vocabulary = Word2VecVocabulary.from_sentences(everything, min_count=5)
    sentences = everything[:args.sentences]
    corpus = encode_corpus(sentences, vocabulary)
    counts = corpus.counts
    ids = [[int(i) for i in vocabulary.encode(s) if i] for s in sentences]
    words = {"tf.data": [], "python reference": []}
    seeds = {name: itertools.count() for name in words}

    def ours():
        batches = make_word2vec_dataset(corpus.token_ids, corpus.sentence_ids, counts, 512,
                                        seed=next(seeds["tf.data"]))
        words["tf.data"].append(sum(int(batch[0].shape[0]) for batch in batches))

    def reference():
        seed = next(seeds["python reference"])
        words["python reference"].append(python_reference_epoch(ids, counts.tolist(), 512,
                                                                seed=seed))

    times = harness.interleaved({"tf.data": ours, "python reference": reference},
                                args.repeats, warmup=0)
    ours_rate, reference_rate = (statistics.median(w / t for w, t in zip(words[n], times[n]))
                                 for n in words)
    print(f"pipeline words/s: tf.data {ours_rate:,.0f}  python reference {reference_rate:,.0f}"
          f"  ratio {ours_rate / reference_rate:.1f}")

    rng = np.random.default_rng(0)
    size = len(vocabulary)
    centers = tf.constant(rng.integers(1, size, (512, 1)), tf.int32)
    slots = tf.constant(rng.integers(1, size, (512, 60)), tf.int32)
    labels = tf.constant((rng.random((512, 60)) < 0.1).astype("float32"))
    masks = tf.constant((rng.random((512, 60)) < 0.6).astype("float32"))
    loss_fn = lambda y, scores: tf.reduce_mean(masked_binary_cross_entropy(y, scores[:, 0], masks))
    steps = {}
    for name, optimizer in [("adam", keras.optimizers.Adam(0.002)),
                            ("lazy_adam", LazyAdam(0.002)),
                            ("sgd", keras.optimizers.SGD(1.0))]:
        model = SkipGram(size, 100)
        model.build()
        step = harness.train_step(model, loss_fn, optimizer)
        steps[name] = lambda step=step: step((centers, slots), labels)
    times = {k: statistics.median(v) for k, v in harness.interleaved(steps, 5, 10).items()}
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
                loss = loss_fn(labels, scores(v, u))
            return [tf.reduce_sum(g.values) for g in tape.gradient(loss, tables)]

        passes[name] = forward_backward
    samples = harness.interleaved(passes, 5, 10)
    einsum, matmul = (statistics.median(samples[n]) for n in ("einsum", "matmul_transpose"))
    print(f"forward+backward (batch 512): einsum {einsum * 1000:.1f} ms  "
          f"matmul+transpose {matmul * 1000:.1f} ms  ratio matmul/einsum {matmul / einsum:.2f}")


if __name__ == "__main__":
    main()
