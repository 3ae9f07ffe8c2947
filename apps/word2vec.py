"""Word embeddings: train skip-gram or CBOW (negative sampling or hierarchical softmax), query
the nearest words, view the vectors in TensorBoard's projector, export them.

    python -m apps.word2vec                                   # skip-gram, negative sampling
    python -m apps.word2vec --model cbow --loss hierarchical
    python -m apps.word2vec --corpus ../shared/data/ptb/ptb.train.txt --epochs 5
    python -m apps.word2vec --implementation keras --lr 0.01 --batch-size 512

Corpus: the Python standard library docstrings' English sentences (no files, no network;
~95k tokens), or --corpus PATH, a PTB-format file (one sentence per line, e.g. ptb.train.txt).
--implementation: fused (gensim's way: one SGD step per pair or window, the rate decaying to
--min-lr, in a C++ TF op on --threads threads, built once in ~20 s, else in TF ops; float32,
one process), fused_tf (TF ops only) or keras (the notes' Keras models on padded batches
through the Trainer: any --strategy, --precision, --optimizer).

Prints the probe words' neighbours each epoch; writes RUN_DIR/projector/ and an export of
token strings -> ids, vectors, neighbors, similarities.
"""

import dataclasses
import os
import pkgutil

from apps import flags
from apps.flags import flag, positive_int
from apps.runner import Run, run_cli
from kerasnotes.utils import memory_budget

# --model -> the notes' Keras model in kerasnotes.models (FusedWord2Vec takes the same names);
# --loss -> the Keras models' `output` and the loss in kerasnotes.losses that trains it.
MODELS = {"skipgram": "SkipGram", "cbow": "CBOW"}
LOSSES = {"negative": ("negative_sampling", "MaskedBinaryCrossEntropy"),
          "hierarchical": ("hierarchical_softmax", "HierarchicalSoftmaxLoss")}
# --optimizer -> its class (LazyAdam and the notes' SGD update only a batch's rows).
OPTIMIZERS = {"lazy_adam": "kerasnotes.optimizers:LazyAdam", "adam": "keras.optimizers:Adam",
              "sgd": "kerasnotes.optimizers:SGD"}
# Default --lr: the fused path's SGD (on PTB, 0.1 beats word2vec.c's slow 0.025), LazyAdam's.
DEFAULT_LR = {"fused": 0.1, "fused_tf": 0.1, "keras": 0.01}
MAX_NEGATIVES = 100  # Mikolov et al.: 2-20 work best; each is one more SGD step of the pair


@dataclasses.dataclass
class Word2VecConfig(flags.RunConfig):
    task: str = "word2vec"
    corpus: str = flag(None, "PTB-format file (default: the embedded docstrings)", metavar="PATH")
    implementation: str = flag("fused", "see above", choices=tuple(DEFAULT_LR))
    threads: int = flag(None, "kernel threads (default: the usable CPUs)", type=positive_int)
    min_lr: float = flag(1e-4, "the fused path's rate at the end", type=flags.positive_float)
    model: str = flag("skipgram", "skip-gram or CBOW", choices=tuple(MODELS))
    loss: str = flag("negative", "negative sampling or hierarchical softmax", choices=[*LOSSES])
    optimizer: str = flag("lazy_adam", "keras path: lazy_adam (sparse rows only; on PTB ~5x d2l's "
                          "Adam rate, --lr 0.01), adam (Keras' dense Adam) or sgd (needs --lr 1 "
                          "to 10)", choices=tuple(OPTIMIZERS))
    embedding_dim: int = flag(100, "vector length d", type=positive_int)
    window: int = flag(5, "context words on each side, n", type=positive_int)
    fixed_window: bool = flag(False, "n words for every center (default: 1..n at random)")
    negatives: int = flag(5, "noise words K per context word",
                          type=flags.int_at_least(1, MAX_NEGATIVES))
    min_count: int = flag(5, "rarer words are dropped", type=positive_int)
    subsample: float = flag(1e-4, "t: a word w is dropped with probability max(1 - sqrt(t / "
                            "f(w)), 0)", type=flags.positive_float)
    probe_words: str = flag(None, "comma-separated words whose neighbours are printed (default: 4 "
                            "of chip,intel,baby,market,file,... in the vocabulary)")
    top_k: int = flag(5, "neighbours shown and exported", type=positive_int)
    max_sentences: int = flag(None, "the first N sentences only (quick runs)", type=positive_int)
    # For the embedded corpus (~90k tokens); d2l trains PTB with Adam(0.002), batch 512, 5 epochs.
    epochs: int = 10
    batch_size: int = 256  # keras path
    lr: float = flag(None, "learning rate (default: 0.1 for the fused path's SGD, decaying "
                     "linearly to --min-lr; 0.01 for --implementation keras)")
    precision: str = "float32"  # keras path; the fused path trains in float32
    export_dir: str = None
    checkpoint_every_n_steps: int = flag(
        None, "checkpoint inside epochs too, every N steps (the fused path's steps: kernel "
        "calls of ~100k words, or TF steps of ~4096 words)")


def run_name(config):
    return f"{config.model}-{config.loss}"


def parse_args(argv=None):
    config = flags.parse(Word2VecConfig, __doc__, argv, run_name)
    config.lr = config.lr or DEFAULT_LR[config.implementation]
    fused = config.implementation != "keras"
    several_workers = config.strategy == "auto" and os.environ.get("TF_CONFIG")
    if fused and (config.strategy not in ("auto", "default") or several_workers):
        raise ValueError(f"--strategy {config.strategy}: the fused word2vec path trains in one "
                         "process (its kernel runs --threads threads); use --implementation "
                         "keras to train with a tf.distribute strategy")
    if fused and config.precision.startswith("mixed_"):
        raise ValueError(f"--precision {config.precision}: the fused word2vec path trains in "
                         "float32; use --implementation keras to train in mixed precision")
    return config


def check_memory(config, vocabulary_size):
    """Refuses (`ValueError`) settings whose training cannot fit in memory (a lower bound):
    the word vectors; on the keras path with two optimizer slots and one batch's vectors."""
    what = f"--embedding-dim {config.embedding_dim} (a vocabulary of {vocabulary_size} words)"
    slots, batch_vectors = 0, 0
    if config.implementation == "keras":
        negatives = config.negatives if config.loss == "negative" else 0
        slots, batch_vectors = 2, config.batch_size * (1 + 2 * config.window * (1 + negatives))
        what += (f" with --batch-size {config.batch_size} --window {config.window} "
                 f"--negatives {negatives}")
    needed = memory_budget.embedding_memory(vocabulary_size, config.embedding_dim, slots,
                                            batch_vectors)
    memory_budget.check_memory(what, needed, "lower --embedding-dim (or --batch-size, "
                               "--window, --negatives), or raise --min-count")


def keras_path(config, corpus, policy):
    """`(model, loss, optimizer, training data, speed callback)` of the notes' Keras model of
    --model with the output of --loss, trained by --optimizer on padded batches."""
    import kerasnotes.losses
    import kerasnotes.models
    from kerasnotes.data.text.word2vec_dataset import make_word2vec_dataset
    from kerasnotes.training.callbacks.trained_words_per_second import TrainedWordsPerSecond

    output, loss_class = LOSSES[config.loss]
    model = getattr(kerasnotes.models, MODELS[config.model])(
        len(corpus.counts), config.embedding_dim, output=output,
        name=f"{config.model}_{config.loss}",
        word_counts=[int(c) for c in corpus.counts])
    model.build()
    negatives = config.negatives if config.loss == "negative" else None
    return (model, getattr(kerasnotes.losses, loss_class)(),
            pkgutil.resolve_name(OPTIMIZERS[config.optimizer])(config.lr),
            lambda epoch: make_word2vec_dataset(
                corpus.token_ids, corpus.sentence_ids, corpus.counts, config.batch_size,
                window=config.window, subsample_t=config.subsample, model=config.model,
                num_negatives=negatives, fixed_window=config.fixed_window, seed=config.seed,
                epoch=epoch, for_training=True),
            TrainedWordsPerSecond(corpus, config.subsample, config.seed))


def fused_path(config, corpus, policy):
    """The same for `FusedWord2Vec`, whose `train_step` is its own loss and SGD (--lr decaying
    to --min-lr over the run) on its own data: ranges of whole sentences."""
    from kerasnotes.models.word2vec_fused import FusedWord2Vec, LinearDecay
    from kerasnotes.training.callbacks.words_per_second import WordsPerSecond

    if policy != "float32":  # --precision auto on a machine with bfloat16 or float16
        print(f"notice: --precision {config.precision} resolved to {policy}; the fused "
              "word2vec path trains in float32")
    model = FusedWord2Vec(
        corpus.counts, config.embedding_dim, model=config.model, loss=config.loss,
        window=config.window, negatives=config.negatives, subsample_t=config.subsample,
        backend="tf" if config.implementation == "fused_tf" else "auto",
        threads=config.threads, seed=config.seed, name=f"{config.model}_{config.loss}",
        learning_rate=LinearDecay(config.lr, config.min_lr, config.epochs * len(corpus.token_ids)))
    model.set_corpus(corpus.token_ids, corpus.sentence_ids)
    if config.verbose:
        if model.kernel_unavailable:
            print(f"notice: the C++ word2vec kernel is unavailable "
                  f"({model.kernel_unavailable}); training with the fused TF ops path")
        print(f"Training path: {model.describe()}")
    return model, None, None, model.dataset, WordsPerSecond()


def main(config):
    """Trains, queries, exports as `config` says; returns `(metrics, export_path)`."""
    from kerasnotes.data.text.word2vec_corpus import load_word2vec_corpus, probe_words
    from kerasnotes.serving.embedding import WordVectorServer
    from kerasnotes.serving.embedding_projector import write_projector
    from kerasnotes.training.callbacks.nearest_words import NearestWords, nearest_words_lines
    from kerasnotes.training.strategy import is_chief

    with Run(config, run_name(config)) as run:
        corpus = load_word2vec_corpus(config.corpus, config.min_count, config.max_sentences)
        vocabulary = corpus.vocabulary
        words = probe_words(vocabulary, config.probe_words)
        if config.top_k > len(vocabulary) - 2:
            raise ValueError(f"--top-k must be at most {len(vocabulary) - 2} (vocabulary of "
                             f"{len(vocabulary)} words); received {config.top_k}")
        print(f"Data: {corpus.name}")
        check_memory(config, len(vocabulary))
        with run.strategy.scope():
            path = keras_path if config.implementation == "keras" else fused_path
            model, loss, optimizer, train, speed = path(config, corpus, run.policy)
        nearest = NearestWords(vocabulary, words, config.top_k, verbose=is_chief(run.strategy))
        trainer = run.trainer(model, loss, optimizer, callbacks=[nearest, speed])
        trainer.fit(train, epochs=config.epochs)

        vectors = model.word_vectors.numpy()  # float32 variables under any precision
        lines = nearest_words_lines(vectors, vocabulary, words, config.top_k)
        print("Nearest words (cosine similarity):", *lines, sep="\n  ")
        print(f"Projector files: {write_projector(run.run_dir, vectors, vocabulary.tokens)}")
        export_path = run.export(WordVectorServer(vectors, vocabulary.tokens, k=config.top_k))
        run.report(speed.metrics, export_path, corpus.name)
    return speed.metrics, export_path


if __name__ == "__main__":
    run_cli("word2vec", main, parse_args)
