"""word2vec on PTB: kerasnotes vs gensim, interleaved in the same process (A B A B).

    python benchmarks/word2vec_throughput.py --epochs 2 --rounds 2          # skip-gram, NS
    python benchmarks/word2vec_throughput.py --epochs 2 --model cbow
    python benchmarks/word2vec_throughput.py --epochs 2 --loss hierarchical
    python benchmarks/word2vec_throughput.py --epochs 5 --rounds 1          # quality
    python benchmarks/word2vec_throughput.py --implementation fused_tf      # no kernel
    python benchmarks/word2vec_throughput.py --implementation keras --lr 0.01  # the notes'

Optional requirement (benchmark only, never a dependency of kerasnotes):
    pip install gensim==4.4.0

Same settings both sides: ../shared/data/ptb/ptb.train.txt with `<unk>` removed, min count
5, vectors of 100, window 5 (a random size 1..5 per center), 5 noise words from count**0.75
(or hierarchical softmax), subsampling t = 1e-4, SGD from --lr decaying linearly to 1e-4,
--threads threads (gensim `workers`), --epochs epochs. gensim: `Word2Vec(sg=1 (0 for
CBOW, cbow_mean=1), negative=5 (hs=1, negative=0), window=5, sample=1e-4, alpha=lr,
min_alpha=1e-4, workers=threads)`. kerasnotes: `FusedWord2Vec` (apps.word2vec's default
path: the C++ kernel, or the TF ops with --implementation fused_tf).

Counting, the same on both sides: *words trained per second* = the corpus words kept after
subsampling (gensim's "effective words", which `Word2Vec.train` returns; the kernel counts
the same), over the wall time of the training calls. Both sides use gensim's (word2vec.c's)
subsampling formula, keep probability `sqrt(t/f) + t/f`, so they train the same number of
words per epoch (with `--subsampling notes`, kerasnotes keeps `sqrt(t/f)` as the notes and
apps.word2vec do: fewer words per epoch, the same work per word). Raw corpus words/s are
printed too. Each round trains a fresh model on each side; the ratio printed is the median
of the per-round ratios kerasnotes/gensim. The top-5 neighbours of the probe words after the
last round are printed side by side.
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CORPUS = os.path.join(os.path.dirname(PROJECT), "shared", "data", "ptb", "ptb.train.txt")
PROBES = ("chip", "intel", "baby", "market")
D2L_CHIP = ("intel", "microprocessor", "chips")


def gensim_keep_probabilities(counts, t):
    """word2vec.c's / gensim's keep probability `min(1, sqrt(t/f) + t/f)`."""
    import numpy as np

    counts = np.asarray(counts, np.float64)
    threshold = t * counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (np.sqrt(counts / threshold) + 1.0) * (threshold / counts)
    return np.where(counts > 0, np.minimum(keep, 1.0), 1.0).astype(np.float32)


def train_kerasnotes(corpus, args, seed):
    from kerasnotes.data.text.word2vec_examples import sentence_splits
    from kerasnotes.models.word2vec_fused import FusedWord2Vec

    backend = "tf" if args.implementation == "fused_tf" else "kernel"
    model = FusedWord2Vec(corpus.counts, 100, model=args.model, loss=args.loss, window=5,
                          negatives=5, subsample_t=1e-4, backend=backend, threads=args.threads,
                          seed=seed)
    if args.subsampling == "gensim":
        model.tables.keep = gensim_keep_probabilities(corpus.counts, 1e-4)
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
    import numpy as np

    from kerasnotes.data.text.word2vec_examples import (
        sampling_tables,
        sentence_examples,
        sentence_splits,
    )

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
    import keras

    from kerasnotes.data.text.word2vec_dataset import make_word2vec_dataset, subsampled_centers
    from kerasnotes.losses.masked_binary_cross_entropy import MaskedBinaryCrossEntropy
    from kerasnotes.models.skip_gram import SkipGram
    from kerasnotes.optimizers.lazy_adam import LazyAdam
    from kerasnotes.training.trainer import Trainer

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


def train_gensim(sentences, args, seed):
    from gensim.models import Word2Vec

    hierarchical = args.loss == "hierarchical"
    model = Word2Vec(vector_size=100, sg=int(args.model == "skipgram"), cbow_mean=1,
                     negative=0 if hierarchical else 5, hs=int(hierarchical), window=5,
                     sample=1e-4, alpha=args.lr, min_alpha=1e-4, min_count=5,
                     workers=args.threads, seed=seed)
    model.build_vocab(sentences)
    start = time.perf_counter()
    effective, raw = model.train(sentences, total_examples=len(sentences), epochs=args.epochs)
    seconds = time.perf_counter() - start
    print(f"  gensim: {effective} words in {seconds:.2f} s = {effective / seconds:,.0f} "
          f"words/s ({raw / seconds:,.0f} raw)", flush=True)
    return model, effective / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS, help="PTB-format text file")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per training (default 2)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="interleaved rounds, gensim then kerasnotes (default 2)")
    parser.add_argument("--model", choices=["skipgram", "cbow"], default="skipgram")
    parser.add_argument("--loss", choices=["negative", "hierarchical"], default="negative")
    parser.add_argument("--implementation", choices=["fused", "fused_tf", "keras"],
                        default="fused")
    parser.add_argument("--subsampling", choices=["gensim", "notes"], default="gensim",
                        help="kerasnotes' keep probability (see above; default gensim's)")
    parser.add_argument("--lr", type=float, default=0.1,
                        help="start of the linear decay, both sides (default 0.1)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sys.path.insert(0, PROJECT)
    try:
        import gensim  # noqa: F401
    except ImportError:
        sys.exit("gensim is not installed: pip install gensim==4.4.0 (benchmark only)")

    from kerasnotes.data.text.ptb_corpus import load_ptb_corpus, read_ptb_sentences
    from kerasnotes.ops.embedding_queries import most_similar

    corpus = load_ptb_corpus(args.corpus, min_count=5)
    sentences = [[t for t in s if t != "<unk>"] for s in read_ptb_sentences(args.corpus)]
    print(f"Corpus: {args.corpus}: {corpus.num_tokens} tokens, vocabulary "
          f"{len(corpus.vocabulary)}; {args.model}, {args.loss}, {args.epochs} epoch(s), "
          f"{args.threads} threads, lr {args.lr}; load average {os.getloadavg()[0]:.2f}")
    ours_train = train_keras if args.implementation == "keras" else train_kerasnotes
    if args.implementation == "fused_tf":
        print(f"input pipeline alone (NumPy examples of the TF path): "
              f"{pipeline_rate(corpus, args):,.0f} words/s")
    ratios, ours_rates, gensim_rates = [], [], []
    for round_ in range(args.rounds):
        print(f"round {round_ + 1}/{args.rounds} (load {os.getloadavg()[0]:.2f}):", flush=True)
        gensim_model, gensim_rate = train_gensim(sentences, args, args.seed + round_)
        vectors, ours_rate = ours_train(corpus, args, args.seed + round_)
        ratios.append(ours_rate / gensim_rate)
        ours_rates.append(ours_rate)
        gensim_rates.append(gensim_rate)
    print()
    print(f"words/s (kept after subsampling)  kerasnotes {statistics.median(ours_rates):,.0f}  "
          f"gensim {statistics.median(gensim_rates):,.0f}  ratio kerasnotes/gensim "
          f"{statistics.median(ratios):.3f} (per round: "
          f"{', '.join(f'{r:.3f}' for r in ratios)}); load average {os.getloadavg()[0]:.2f}")
    print()
    for word in PROBES:
        ours = [w for w, _ in most_similar(vectors, corpus.vocabulary, word, k=5,
                                           exclude=("<unk>",))]
        theirs = [w for w, _ in gensim_model.wv.most_similar(word, topn=5)]
        print(f"{word:>7}  kerasnotes: {', '.join(ours)}")
        print(f"{'':>7}  gensim:     {', '.join(theirs)}")
        if word == "chip":
            print(f"{'':>7}  d2l's chip neighbours (intel/microprocessor/chips) in top 5: "
                  f"kerasnotes {bool(set(ours) & set(D2L_CHIP))}, gensim "
                  f"{bool(set(theirs) & set(D2L_CHIP))}")


if __name__ == "__main__":
    main()
