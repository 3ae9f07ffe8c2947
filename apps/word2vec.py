"""Word embeddings: train skip-gram or CBOW (negative sampling or hierarchical softmax), query
the nearest words, view the vectors in TensorBoard's projector, export them.

    python -m apps.word2vec                                   # skip-gram, negative sampling
    python -m apps.word2vec --model cbow --loss hierarchical
    python -m apps.word2vec --corpus ../shared/data/ptb/ptb.train.txt \
        --epochs 5 --probe-words chip,intel,baby,market       # fused path, SGD 0.1
    python -m apps.word2vec --implementation keras --corpus ../shared/data/ptb/ptb.train.txt \
        --lr 0.01 --batch-size 512 --epochs 5                 # the notes' Keras model
    tensorboard --logdir runs/word2vec

Corpus (--corpus):
  (default)   the embedded corpus: English sentences of the Python standard library's
              docstrings, gathered by kerasnotes in a fixed order (no files, no network;
              about 95k tokens on Python 3.11)
  PATH        a text file in the PTB format: one sentence per line, tokens separated by
              spaces (e.g. ptb.train.txt)

Training: subsampling (t), a random context window of at most --window words on each
side within the sentence, --negatives noise words per context word from count**0.75
(negative sampling, masked binary cross-entropy) or a Huffman tree (hierarchical softmax).
The nearest words of the probe words are printed after every epoch and at the end.

Implementation (--implementation):
  fused       (default) word2vec's own way, as gensim trains: one SGD step per (center,
              context) pair (skip-gram) or window (CBOW), no padding, the gradient written
              from the notes' formulas, the rate decaying linearly from --lr to --min-lr.
              It runs a C++ TensorFlow op (Hogwild SGD on --threads threads), built on
              first use with the system compiler (about 20 s, cached in
              ~/.cache/kerasnotes/ops); without a compiler it runs the same steps with TF
              ops (batched, slower) and says so in one line. The first line of training
              names the path used. Only the default strategy (one process) and
              float32; checkpoints after every epoch and, with
              --checkpoint-every-n-steps N, after every N steps (a step: one kernel call
              of about 100k words, or one TF step of about 4096 words)
  fused_tf    the fused steps with TF ops only (no kernel)
  keras       the notes' Keras models (SkipGram, CBOW) on padded batches of --batch-size
              centers, through the Trainer with --optimizer (any --strategy and
              --precision)

Optimizer (--optimizer, --implementation keras only; the fused path is SGD):
  lazy_adam   (default) kerasnotes LazyAdam: Adam whose sparse (embedding) updates touch
              only the rows of the batch, with Adam's global-step bias correction; faster
              than dense Adam on large vocabularies. A row absent from a step does not
              move, so rare words get smaller steps than with dense Adam: on PTB use about
              5x d2l's Adam rate (--lr 0.01 instead of 0.002)
  adam        Keras' Adam: m, v and the vectors of every row decay at every step
  sgd         kerasnotes SGD (sparse updates); needs a much larger --lr (e.g. 1 to 10)

Outputs: runs/word2vec/<model>-<loss>/ (config.json, TensorBoard events: fused path
train/epoch_loss (mean loss per target word), epoch_words_per_second (words kept after
subsampling), learning_rate, batch_loss; keras path the Trainer's loss and examples/s; the
probe neighbours as text; checkpoints after every epoch (and every
--checkpoint-every-n-steps steps): rerunning the same command resumes from the last one;
projector/ holds vectors.tsv and metadata.tsv for TensorBoard's projector) and
saved_models/word2vec/<version>/ (SavedModel whose serving_default takes token strings [N]
and returns ids, vectors, neighbors and similarities; unknown tokens map to <unk>).
"""

import dataclasses
import os
import types

from apps import flags
from apps.runner import App, cli, parse_config, run_app

MODELS = ("skipgram", "cbow")
LOSSES = ("negative", "hierarchical")
OPTIMIZERS = ("lazy_adam", "adam", "sgd")
IMPLEMENTATIONS = ("fused", "fused_tf", "keras")
# Default --lr: SGD of the fused path (PTB: 0.1 after 5 epochs puts intel, microprocessor,
# chips next to chip; word2vec.c's 0.025 is too slow for 5 epochs of a 1M-word corpus),
# and the Keras path's LazyAdam.
DEFAULT_LR = {"fused": 0.1, "fused_tf": 0.1, "keras": 0.01}


@dataclasses.dataclass
class Word2VecConfig(flags.CommonConfig):
    task: str = "word2vec"
    data: str = "stdlib"
    corpus: str = None
    model: str = "skipgram"
    loss: str = "negative"
    # Tuned for the small embedded corpus (~90k tokens): 10 epochs of batches of 256 with
    # Adam(0.01). d2l trains PTB with Adam(0.002), batch 512, 5 epochs (see the docstring).
    epochs: int = 10
    batch_size: int = 256
    lr: float = None  # DEFAULT_LR of the implementation
    min_lr: float = 1e-4
    implementation: str = "fused"
    threads: int = None
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


def add_flags(parser, defaults):
    helps = parser._option_string_actions
    helps["--lr"].help = ("learning rate (default: 0.1 for the fused path's SGD, decaying "
                          "linearly to --min-lr; 0.01 for --implementation keras)")
    helps["--checkpoint-every-n-steps"].help = (
        "checkpoint inside epochs too, every N steps: training steps of --implementation "
        "keras, kernel calls (~100k words) or TF steps (~4096 words) of the fused path; "
        "resuming continues from the step (default: at the end of each epoch)")
    add = parser.add_argument_group("word2vec flags").add_argument
    add("--implementation", choices=IMPLEMENTATIONS, default=defaults.implementation,
        help="fused (C++ kernel, else TF ops), fused_tf or keras (the notes' models; see "
             "above) (default %(default)s)")
    add("--threads", type=flags.positive_int, default=None,
        help="kernel threads of the fused path (default: the CPUs available)")
    add("--min-lr", type=flags.positive_float, default=defaults.min_lr,
        help="fused path: the rate at the end of the run (default %(default)s)")
    add("--corpus", default=None,
        help="PTB-format text file (default: the embedded standard-library docstring corpus)")
    add("--model", choices=MODELS, default=defaults.model,
        help="skip-gram or continuous bag of words (default %(default)s)")
    add("--loss", choices=LOSSES, default=defaults.loss,
        help="negative sampling or hierarchical softmax (default %(default)s)")
    add("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer,
        help="lazy_adam (Adam updating only the batch's rows), adam (Keras' dense Adam) or "
             "sgd (default %(default)s)")
    add("--embedding-dim", type=flags.positive_int, default=defaults.embedding_dim,
        help="vector length d (default %(default)s)")
    add("--window", type=flags.positive_int, default=defaults.window,
        help="maximum context words on each side, n (default %(default)s)")
    add("--fixed-window", action="store_true",
        help="use the window size n for every center (default: a random size in 1..n per "
             "center, as word2vec does)")
    add("--negatives", type=flags.positive_int, default=defaults.negatives,
        help="noise words K per context word, negative sampling (default %(default)s)")
    add("--min-count", type=flags.positive_int, default=defaults.min_count,
        help="words seen fewer times become <unk> and are dropped (default %(default)s)")
    add("--subsample", type=flags.positive_float, default=defaults.subsample,
        help="subsampling t: a word w is dropped with probability max(1 - sqrt(t / f(w)), 0) "
             "(default %(default)s)")
    add("--probe-words", default=None,
        help="comma-separated words whose neighbours are printed (default: 4 of chip,intel,"
             "baby,market,file,string,... in the vocabulary)")
    add("--top-k", type=flags.positive_int, default=defaults.top_k,
        help="neighbours printed and exported per word (default %(default)s)")
    add("--max-sentences", type=flags.positive_int, default=None,
        help="use only the first N sentences of the corpus (quick runs)")


def finish_config(config, parser):
    if config.lr is None:
        config.lr = DEFAULT_LR[config.implementation]
    if config.corpus is None and config.data != "stdlib":
        parser.error(f"--data must be 'stdlib' (the embedded corpus); received "
                     f"{config.data!r}. Give a text file with --corpus PATH")
    if config.implementation == "keras":
        return
    several = config.strategy == "auto" and os.environ.get("TF_CONFIG")
    if config.strategy not in ("auto", "default") or several:
        parser.error(f"--strategy {config.strategy}: the fused word2vec path trains in one "
                     "process (its kernel runs --threads threads); use --implementation "
                     "keras to train with a tf.distribute strategy")
    if config.precision.startswith("mixed_"):
        parser.error(f"--precision {config.precision}: the fused word2vec path trains in "
                     "float32; use --implementation keras to train in mixed precision")


def parse_args(argv=None):
    return parse_config(APP, argv)


def build_data(config):
    """The corpus, the probe words and (keras path) `train(epoch)` padded batches."""
    from kerasnotes.data.text.word2vec_corpus import load_word2vec_corpus, probe_words
    from kerasnotes.data.text.word2vec_dataset import make_word2vec_dataset

    corpus = load_word2vec_corpus(config.corpus, config.min_count, config.max_sentences)
    vocabulary = corpus.vocabulary
    words = probe_words(vocabulary, config.probe_words)
    if config.top_k > len(vocabulary) - 2:
        raise ValueError(f"--top-k must be at most {len(vocabulary) - 2} (vocabulary of "
                         f"{len(vocabulary)} words); received {config.top_k}")
    print(f"Data: {corpus.name}")
    negatives = config.negatives if config.loss == "negative" else None

    def train(epoch):
        return make_word2vec_dataset(
            corpus.token_ids, corpus.sentence_ids, corpus.counts, config.batch_size,
            window=config.window, num_negatives=negatives, subsample_t=config.subsample,
            fixed_window=config.fixed_window, model=config.model, seed=config.seed,
            epoch=epoch, for_training=True)

    return types.SimpleNamespace(name=corpus.name, corpus=corpus, words=words, train=train,
                                 validation=None)


def build_model(config, data):
    from kerasnotes.models.cbow import CBOW
    from kerasnotes.models.skip_gram import SkipGram

    cls = SkipGram if config.model == "skipgram" else CBOW
    output = "negative_sampling" if config.loss == "negative" else "hierarchical_softmax"
    model = cls(len(data.corpus.vocabulary), config.embedding_dim, output=output,
                word_counts=data.corpus.counts.tolist(), name=f"{config.model}_{config.loss}")
    model.build()
    return model, build_optimizer(config)


def build_optimizer(config):
    """The optimizer named by --optimizer, with learning rate --lr."""
    import keras

    from kerasnotes.optimizers.lazy_adam import LazyAdam
    from kerasnotes.optimizers.sgd import SGD

    optimizers = {"lazy_adam": LazyAdam, "adam": keras.optimizers.Adam, "sgd": SGD}
    return optimizers[config.optimizer](config.lr)


def loss_and_metrics(config, data, model):
    from kerasnotes.losses import HierarchicalSoftmaxLoss, MaskedBinaryCrossEntropy

    return (MaskedBinaryCrossEntropy() if config.loss == "negative"
            else HierarchicalSoftmaxLoss()), []


def callbacks(run, data, model=None):
    """The probe words' nearest words after every epoch; on the keras path (`model` given)
    also the training speed of the report (`data.speed`)."""
    from kerasnotes.models.word2vec_training import NearestWords, TrainedWordsPerSecond
    from kerasnotes.training.strategy import is_chief

    config = run.config
    nearest = NearestWords(data.corpus.vocabulary, data.words, config.top_k,
                           verbose=is_chief(run.strategy))
    if model is None:
        return [nearest]
    data.speed = TrainedWordsPerSecond(data.corpus, config.subsample, config.seed)
    return [nearest, data.speed]


def evaluate(run, data, model, trainer=None):
    """The final nearest words and the projector files; the keras path's metrics."""
    from kerasnotes.models.word2vec_training import nearest_words_lines
    from kerasnotes.serving.embedding_projector import write_projector

    vectors, vocabulary = model.word_vectors.numpy(), data.corpus.vocabulary
    print("Nearest words (cosine similarity):")
    for line in nearest_words_lines(vectors, vocabulary, data.words, run.config.top_k):
        print(f"  {line}")
    print(f"Projector files: {write_projector(run.run_dir, vectors, vocabulary.tokens)}")
    return data.speed.metrics if trainer is not None else None


def build_server(config, data, model):
    from kerasnotes.serving.embedding import WordVectorServer

    server = WordVectorServer(model.word_vectors.numpy(), data.corpus.vocabulary.tokens,
                              k=config.top_k)
    return server, {"serving_default": server.serve}


def train_fused(run):
    """The fused path (`kerasnotes.models.word2vec_training.FusedTrainer`)."""
    from kerasnotes.models.word2vec_fused import FusedWord2Vec
    from kerasnotes.models.word2vec_training import FusedTrainer

    config = run.config
    data = build_data(config)
    if run.policy != "float32":
        print(f"notice: --precision {config.precision} resolved to {run.policy}; the fused "
              "word2vec path trains in float32")
    model = FusedWord2Vec(
        data.corpus.counts, config.embedding_dim, model=config.model, loss=config.loss,
        window=config.window, negatives=config.negatives, subsample_t=config.subsample,
        backend="tf" if config.implementation == "fused_tf" else "auto",
        threads=config.threads, seed=config.seed, name=f"{config.model}_{config.loss}")
    if model.kernel_unavailable:
        print(f"notice: the C++ word2vec kernel is unavailable ({model.kernel_unavailable}); "
              "training with the fused TF ops path")
    print(f"Training path: {model.describe()}")
    trainer = FusedTrainer(model, run.run_dir, callbacks(run, data),
                           log_every_n_steps=config.log_every_n_steps,
                           checkpoint_every_n_steps=config.checkpoint_every_n_steps,
                           verbose=config.verbose)
    run.start_training()
    metrics = trainer.fit(data.corpus.token_ids, data.corpus.sentence_ids, config.epochs,
                          config.lr, config.min_lr)
    evaluate(run, data, model)
    return metrics, run.export(*build_server(config, data, model)), data.name


APP = App(task="word2vec", config_class=Word2VecConfig, doc=__doc__, add_flags=add_flags,
          finish_config=finish_config, run_name=lambda config: f"{config.model}-{config.loss}",
          train=train_fused)
# --implementation keras: the runner's standard flow (Trainer, then evaluate and export).
KERAS_APP = dataclasses.replace(
    APP, train=None, build_data=build_data, build_model=build_model,
    loss_and_metrics=loss_and_metrics, callbacks=callbacks, evaluate=evaluate,
    build_server=build_server)


def app_for(argv=None):
    """The App of the command line's --implementation."""
    return KERAS_APP if parse_args(argv).implementation == "keras" else APP


def main(argv=None):
    return run_app(app_for(argv), argv)


if __name__ == "__main__":
    cli(app_for())
