"""Word embeddings: train skip-gram or CBOW (negative sampling or hierarchical softmax), query
the nearest words, view the vectors in TensorBoard's projector, export them.

    python -m apps.word2vec                                   # skip-gram, negative sampling
    python -m apps.word2vec --model cbow --loss hierarchical
    python -m apps.word2vec --corpus ../shared/data/ptb/ptb.train.txt \
        --epochs 5 --probe-words chip,intel,baby,market       # fused path, SGD 0.1
    python -m apps.word2vec --implementation keras --corpus ../shared/data/ptb/ptb.train.txt \
        --lr 0.01 --batch-size 512 --epochs 5                 # the notes' Keras model
    tensorboard --logdir runs/word2vec

Corpus (--corpus): by default the embedded corpus, English sentences of the Python standard
library's docstrings in a fixed order (no files, no network; ~95k tokens); or a PTB-format
text file (one sentence per line, tokens separated by spaces, e.g. ptb.train.txt).

Implementation (--implementation; README.md, "apps.word2vec", says more):
  fused       (default) gensim's way: one SGD step per (center, context) pair or window,
              no padding, the rate decaying linearly from --lr to --min-lr; a C++ TF op
              (Hogwild SGD on --threads threads, built once in ~20 s and cached in
              ~/.cache/kerasnotes/ops), else the same steps in TF ops. One process, float32
  fused_tf    the fused steps with TF ops only (no kernel)
  keras       the notes' Keras models (SkipGram, CBOW) on padded batches of --batch-size
              centers through the Trainer: any --strategy, --precision and --optimizer

Outputs: the probe words' nearest words after every epoch and at the end;
runs/word2vec/<model>-<loss>/ (config.json; TensorBoard loss, words/s, learning rate and
the neighbours as text; checkpoints, from which rerunning the same command resumes;
projector/ vectors.tsv and metadata.tsv) and saved_models/word2vec/<version>/
(serving_default: token strings [N] -> ids, vectors, neighbors, similarities).
"""

import dataclasses
import os

from apps import flags, memory_check
from apps.runner import Run, run_cli


@dataclasses.dataclass
class Word2VecConfig(flags.RunConfig):
    task: str = "word2vec"
    corpus: str = None  # None: the embedded docstring corpus
    implementation: str = "fused"
    threads: int = None  # None: the CPUs available
    min_lr: float = 1e-4
    model: str = "skipgram"
    loss: str = "negative"
    optimizer: str = "lazy_adam"
    embedding_dim: int = 100
    window: int = 5
    fixed_window: bool = False
    negatives: int = 5
    min_count: int = 5
    subsample: float = 1e-4
    probe_words: str = None
    top_k: int = 5
    max_sentences: int = None
    # For the embedded corpus (~90k tokens); d2l trains PTB with Adam(0.002), batch 512, 5 epochs.
    epochs: int = 10
    batch_size: int = 256  # keras path
    lr: float = None  # DEFAULT_LR of the implementation
    precision: str = "float32"  # keras path; the fused path trains in float32
    export_dir: str = None


# --model -> the notes' Keras model in kerasnotes.models (FusedWord2Vec takes the same names);
# --loss -> the Keras models' `output` and the loss in kerasnotes.losses that trains it.
MODELS = {"skipgram": "SkipGram", "cbow": "CBOW"}
LOSSES = {"negative": ("negative_sampling", "MaskedBinaryCrossEntropy"),
          "hierarchical": ("hierarchical_softmax", "HierarchicalSoftmaxLoss")}
# --optimizer -> its name in apps/optimizer_registry.py TRAINING_OPTIMIZERS.
OPTIMIZERS = {"lazy_adam": "lazy_adam", "adam": "adam", "sgd": "notes_sgd"}
# Default --lr: the fused path's SGD (on PTB, 0.1 beats word2vec.c's slow 0.025), LazyAdam's.
DEFAULT_LR = {"fused": 0.1, "fused_tf": 0.1, "keras": 0.01}
MAX_NEGATIVES = 100  # Mikolov et al.: 2-20 work best; each is one more SGD step of the pair
COMMON_FLAG_HELP = {
    "--lr": "learning rate (default: 0.1 for the fused path's SGD, decaying linearly to "
            "--min-lr; 0.01 for --implementation keras)",
    "--checkpoint-every-n-steps": "checkpoint inside epochs too, every N steps: training steps "
        "of --implementation keras, kernel calls (~100k words) or TF steps (~4096 words) of "
        "the fused path; resuming continues from the step (default: at the end of each epoch)"}


def run_name(config):
    return f"{config.model}-{config.loss}"


def parse_args(argv=None):
    defaults = Word2VecConfig()
    parser = flags.make_parser(defaults, __doc__, COMMON_FLAG_HELP,
                               default_logdir=f"runs/word2vec/{run_name(defaults)}")
    add = parser.add_argument_group("word2vec flags").add_argument
    add("--corpus", help="PTB-format text file (default: the embedded docstring corpus)")
    add("--implementation", choices=tuple(DEFAULT_LR),
        help="fused (C++ kernel, else TF ops), fused_tf or keras (default %(default)s)")
    add("--threads", type=flags.positive_int,
        help="kernel threads of the fused path (default: the CPUs available)")
    add("--min-lr", type=flags.positive_float,
        help="fused path: the rate at the end of the run (default %(default)s)")
    add("--model", choices=tuple(MODELS),
        help="skip-gram or continuous bag of words (default %(default)s)")
    add("--loss", choices=tuple(LOSSES),
        help="negative sampling or hierarchical softmax (default %(default)s)")
    add("--optimizer", choices=tuple(OPTIMIZERS),
        help="keras path: lazy_adam (sparse rows only; on PTB ~5x d2l's Adam rate, --lr 0.01), "
             "adam (Keras' dense Adam) or sgd (needs --lr 1 to 10) (default %(default)s)")
    add("--embedding-dim", type=flags.positive_int, help="vector length d (default %(default)s)")
    add("--window", type=flags.positive_int,
        help="maximum context words on each side, n (default %(default)s)")
    add("--fixed-window", action="store_true",
        help="window n for every center (default: random in 1..n per center, as word2vec)")
    add("--negatives", type=flags.int_at_most(MAX_NEGATIVES),
        help=f"noise words K per context word, at most {MAX_NEGATIVES} (default %(default)s)")
    add("--min-count", type=flags.positive_int,
        help="words seen fewer times become <unk> and are dropped (default %(default)s)")
    add("--subsample", type=flags.positive_float,
        help="t: a word w is dropped with probability max(1 - sqrt(t / f(w)), 0) (default "
             "%(default)s)")
    add("--probe-words", help="comma-separated words whose neighbours are printed (default: "
        "4 of chip,intel,baby,market,file,string,... in the vocabulary)")
    add("--top-k", type=flags.positive_int,
        help="neighbours printed and exported per word (default %(default)s)")
    add("--max-sentences", type=flags.positive_int,
        help="use only the first N sentences of the corpus (quick runs)")
    config = flags.to_config(Word2VecConfig, parser.parse_args(argv))
    config.lr = config.lr or DEFAULT_LR[config.implementation]
    fused = config.implementation != "keras"
    several_workers = config.strategy == "auto" and os.environ.get("TF_CONFIG")
    if fused and (config.strategy not in ("auto", "default") or several_workers):
        parser.error(f"--strategy {config.strategy}: the fused word2vec path trains in one "
                     "process (its kernel runs --threads threads); use --implementation keras "
                     "to train with a tf.distribute strategy")
    if fused and config.precision.startswith("mixed_"):
        parser.error(f"--precision {config.precision}: the fused word2vec path trains in "
                     "float32; use --implementation keras to train in mixed precision")
    return config


def check_memory(config, vocabulary_size):
    """Refuses (`ValueError`) settings whose training cannot fit in memory: the two float32
    tables of `vocabulary_size` x --embedding-dim; on the keras path three times over (two
    optimizer slots) plus one batch's gathered vectors. A lower bound."""
    dim, keras_path = config.embedding_dim, config.implementation == "keras"
    needed = 2 * 4 * vocabulary_size * dim * (3 if keras_path else 1)
    what = f"--embedding-dim {dim} (a vocabulary of {vocabulary_size} words)"
    if keras_path:
        negatives = config.negatives if config.loss == "negative" else 0
        needed += 4 * config.batch_size * (1 + 2 * config.window * (1 + negatives)) * dim
        what += (f" with --batch-size {config.batch_size} --window {config.window} "
                 f"--negatives {negatives}")
    memory_check.check_memory(what, needed, "lower --embedding-dim (or --batch-size, --window, "
                       "--negatives), or raise --min-count")


def build_keras_model(config, counts):
    """`(model, loss, optimizer)`: the built Keras model of --model with the output of --loss
    (`counts`: the vocabulary's word counts), its loss, and --optimizer at --lr."""
    import kerasnotes.losses
    import kerasnotes.models
    from apps.optimizer_registry import make_training_optimizer

    output, loss_class = LOSSES[config.loss]
    model = getattr(kerasnotes.models, MODELS[config.model])(
        len(counts), config.embedding_dim, output=output, word_counts=[int(c) for c in counts],
        name=f"{config.model}_{config.loss}")
    model.build()
    return (model, getattr(kerasnotes.losses, loss_class)(),
            make_training_optimizer(OPTIMIZERS[config.optimizer], config.lr))


def build_fused_model(config, corpus):
    """A `FusedWord2Vec` on `corpus`: its own SGD, --lr decaying to --min-lr over the run."""
    import keras

    from kerasnotes.models.word2vec_fused import FusedWord2Vec, LinearDecay

    policy = keras.mixed_precision.dtype_policy().name
    if policy != "float32":
        print(f"notice: --precision {config.precision} resolved to {policy}; the fused "
              "word2vec path trains in float32")
    model = FusedWord2Vec(
        corpus.counts, config.embedding_dim, model=config.model, loss=config.loss,
        window=config.window, negatives=config.negatives, subsample_t=config.subsample,
        backend="tf" if config.implementation == "fused_tf" else "auto",
        threads=config.threads, seed=config.seed, name=f"{config.model}_{config.loss}",
        learning_rate=LinearDecay(config.lr, config.min_lr,
                                  config.epochs * len(corpus.token_ids)))
    model.set_corpus(corpus.token_ids, corpus.sentence_ids)
    if config.verbose:
        if model.kernel_unavailable:
            print(f"notice: the C++ word2vec kernel is unavailable "
                  f"({model.kernel_unavailable}); training with the fused TF ops path")
        print(f"Training path: {model.describe()}")
    return model


def main(config):
    """Trains, queries, exports as `config` says; returns `(metrics, export_path)`."""
    from kerasnotes.data.text.word2vec_corpus import load_word2vec_corpus, probe_words
    from kerasnotes.data.text.word2vec_dataset import make_word2vec_dataset
    from kerasnotes.serving.embedding import WordVectorServer
    from kerasnotes.serving.embedding_projector import write_projector
    from kerasnotes.training.callbacks.nearest_words import NearestWords, nearest_words_lines
    from kerasnotes.training.callbacks.trained_words_per_second import TrainedWordsPerSecond
    from kerasnotes.training.callbacks.words_per_second import WordsPerSecond
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

        def padded_batches(epoch):  # the keras path's training data
            return make_word2vec_dataset(
                corpus.token_ids, corpus.sentence_ids, corpus.counts, config.batch_size,
                window=config.window, subsample_t=config.subsample, model=config.model,
                num_negatives=config.negatives if config.loss == "negative" else None,
                fixed_window=config.fixed_window, seed=config.seed, epoch=epoch,
                for_training=True)

        with run.strategy.scope():
            if config.implementation == "keras":
                model, loss, optimizer = build_keras_model(config, corpus.counts)
                train = padded_batches
                speed = TrainedWordsPerSecond(corpus, config.subsample, config.seed)
            else:  # FusedWord2Vec.train_step is its own loss and SGD; its steps, its data
                model, loss, optimizer = build_fused_model(config, corpus), None, None
                train, speed = model.dataset, WordsPerSecond()
        nearest = NearestWords(vocabulary, words, config.top_k, verbose=is_chief(run.strategy))
        trainer = run.trainer(model, loss, optimizer, callbacks=[nearest, speed])
        trainer.fit(train, epochs=config.epochs)

        vectors = model.word_vectors.numpy()  # float32 variables under any precision
        lines = nearest_words_lines(vectors, vocabulary, words, config.top_k)
        print("Nearest words (cosine similarity):", *lines, sep="\n  ")
        print(f"Projector files: {write_projector(run.run_dir, vectors, vocabulary.tokens)}")
        server = WordVectorServer(vectors, vocabulary.tokens, k=config.top_k)
        export_path = run.export(server, {"serving_default": server.serve})
        run.report(speed.metrics, export_path, corpus.name)
    return speed.metrics, export_path


def cli(argv=None):
    run_cli("word2vec", main, parse_args, argv)


if __name__ == "__main__":
    cli()
