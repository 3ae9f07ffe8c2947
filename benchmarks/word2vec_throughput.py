"""Skip-gram with negative sampling: kerasnotes vs gensim on PTB, in the same run.

    python benchmarks/word2vec_throughput.py                    # 1 epoch each
    python benchmarks/word2vec_throughput.py --epochs 5 --gensim-repeats 3
    python benchmarks/word2vec_throughput.py --epochs 2 --optimizer adam   # Keras' dense Adam

Optional requirement (benchmark only, never a dependency of kerasnotes):
    pip install gensim==4.4.0

Both train skip-gram with negative sampling on ../shared/data/ptb/ptb.train.txt with the
same settings: vectors of 100, window 5 (random size 1..5 per center), 5 noise words per
context word (count**0.75), subsampling t = 1e-4, min count 5, `<unk>` removed; gensim
with `Word2Vec(sg=1, negative=5, window=5, sample=1e-4, workers=2)`, kerasnotes with
`SkipGram` + `MaskedBinaryCrossEntropy` + Adam(0.002), batch 512, through the Trainer (the
d2l settings); the Adam is kerasnotes' `LazyAdam` (only the batch's rows updated, the
apps.word2vec default) unless `--optimizer adam` (Keras' Adam, every row every step).
LazyAdam does not move rows absent from a step, so it trains better with a larger rate
(`--lr 0.01` gave a lower loss after 2 epochs than Adam(0.002)); the speed is the same.
Words/s counts the center words after subsampling (gensim's "effective words").
kerasnotes' figure is the median over epochs after the first (which includes tracing) when
--epochs > 1; gensim's is the median of --gensim-repeats trainings. It prints both
throughputs, their ratio, and the top-5 neighbours of the probe words side by side.
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


def make_optimizer(name, lr):
    import keras

    from kerasnotes.optimizers.lazy_adam import LazyAdam

    return LazyAdam(lr) if name == "lazy_adam" else keras.optimizers.Adam(lr)


def train_kerasnotes(corpus, epochs, batch_size, lr, seed, optimizer):
    import keras

    from kerasnotes.data.text.word2vec_dataset import make_word2vec_dataset, subsampled_centers
    from kerasnotes.losses.masked_binary_cross_entropy import MaskedBinaryCrossEntropy
    from kerasnotes.models.skip_gram import SkipGram
    from kerasnotes.training.trainer import Trainer

    keras.utils.set_random_seed(seed)
    vocabulary = corpus.vocabulary
    model = SkipGram(len(vocabulary), 100)
    model.build()
    trainer = Trainer(model, MaskedBinaryCrossEntropy(), make_optimizer(optimizer, lr),
                      verbose=0)

    def data(epoch):
        return make_word2vec_dataset(corpus.token_ids, corpus.sentence_ids, corpus.counts,
                                     batch_size, window=5, num_negatives=5, subsample_t=1e-4,
                                     seed=seed, epoch=epoch, for_training=True)

    rates, losses = [], []
    for epoch in range(epochs):
        words = int(subsampled_centers(corpus.token_ids, corpus.sentence_ids, corpus.counts,
                                       1e-4, seed, epoch)[2].shape[0])
        start = time.perf_counter()
        history = trainer.fit(data, epochs=epoch + 1)
        seconds = time.perf_counter() - start
        rates.append(words / seconds)
        losses.append(history["loss"][-1])
        print(f"  kerasnotes epoch {epoch + 1}: {words} words in {seconds:.1f} s = "
              f"{rates[-1]:,.0f} words/s, loss {losses[-1]:.4f}", flush=True)
    rate = statistics.median(rates[1:] if len(rates) > 1 else rates)
    return model.word_vectors.numpy(), rate


def train_gensim(sentences, epochs, repeats, seed):
    from gensim.models import Word2Vec

    rates, model = [], None
    for _ in range(repeats):
        model = Word2Vec(vector_size=100, sg=1, negative=5, window=5, sample=1e-4,
                         min_count=5, workers=2, seed=seed)
        model.build_vocab(sentences)
        start = time.perf_counter()
        effective, _ = model.train(sentences, total_examples=len(sentences), epochs=epochs)
        seconds = time.perf_counter() - start
        rates.append(effective / seconds)
        print(f"  gensim: {effective} words in {seconds:.1f} s = {rates[-1]:,.0f} words/s",
              flush=True)
    return model, statistics.median(rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS, help="PTB-format text file")
    parser.add_argument("--epochs", type=int, default=1, help="epochs of each (default 1)")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=0.002)
    parser.add_argument("--optimizer", choices=["lazy_adam", "adam"], default="lazy_adam",
                        help="kerasnotes LazyAdam (default) or Keras' dense Adam")
    parser.add_argument("--gensim-repeats", type=int, default=3)
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
          f"{len(corpus.vocabulary)}; {args.epochs} epoch(s) each")
    print("gensim Word2Vec(sg=1, negative=5, window=5, sample=1e-4, workers=2):")
    gensim_model, gensim_rate = train_gensim(sentences, args.epochs, args.gensim_repeats,
                                             args.seed)
    print(f"kerasnotes SkipGram + negative sampling, {args.optimizer}({args.lr}), "
          f"batch {args.batch_size}:")
    vectors, ours_rate = train_kerasnotes(corpus, args.epochs, args.batch_size, args.lr,
                                          args.seed, args.optimizer)
    print()
    print(f"words/s  kerasnotes {ours_rate:,.0f}  gensim {gensim_rate:,.0f}  "
          f"ratio kerasnotes/gensim {ours_rate / gensim_rate:.3f}")
    print()
    for word in PROBES:
        ours = [w for w, _ in most_similar(vectors, corpus.vocabulary, word, k=5,
                                           exclude=("<unk>",))]
        theirs = [w for w, _ in gensim_model.wv.most_similar(word, topn=5)]
        print(f"{word:>7}  kerasnotes: {', '.join(ours)}")
        print(f"{'':>7}  gensim:     {', '.join(theirs)}")


if __name__ == "__main__":
    main()
