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
import types

from apps import flags
from apps.runner import App, parse_config

MODELS = ("skipgram", "cbow")
LOSSES = ("negative", "hierarchical")
# --optimizer -> its name in kerasnotes.optimizers.by_name.TRAINING_OPTIMIZERS.
OPTIMIZERS = {"lazy_adam": "lazy_adam", "adam": "adam", "sgd": "notes_sgd"}
IMPLEMENTATIONS = ("fused", "fused_tf", "keras")
# The most noise words per context word (Mikolov et al.: 2-20 work best); each one is an SGD
# step of the pair, so a larger K only multiplies the time.
MAX_NEGATIVES = 100
# Default --lr: the fused path's SGD (on PTB, 5 epochs at 0.1 put intel, microprocessor,
# chips next to chip; word2vec.c's 0.025 is too slow) and the Keras path's LazyAdam.
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


COMMON_FLAG_HELP = {
    "--lr": "learning rate (default: 0.1 for the fused path's SGD, decaying linearly to "
            "--min-lr; 0.01 for --implementation keras)",
    "--checkpoint-every-n-steps": "checkpoint inside epochs too, every N steps: training steps "
        "of --implementation keras, kernel calls (~100k words) or TF steps (~4096 words) of "
        "the fused path; resuming continues from the step (default: at the end of each epoch)"}


def add_flags(parser, defaults):
    add = parser.add_argument_group("word2vec flags").add_argument
    add("--implementation", choices=IMPLEMENTATIONS, default=defaults.implementation,
        help="fused (C++ kernel, else TF ops), fused_tf or keras (default %(default)s)")
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
    add("--optimizer", choices=tuple(OPTIMIZERS), default=defaults.optimizer,
        help="keras path: lazy_adam (sparse rows only; on PTB ~5x d2l's Adam rate, --lr "
             "0.01), adam (Keras' dense Adam) or sgd (needs --lr 1 to 10) (default "
             "%(default)s)")
    add("--embedding-dim", type=flags.positive_int, default=defaults.embedding_dim,
        help="vector length d (default %(default)s)")
    add("--window", type=flags.positive_int, default=defaults.window,
        help="maximum context words on each side, n (default %(default)s)")
    add("--fixed-window", action="store_true",
        help="window n for every center (default: random in 1..n per center, as word2vec)")
    add("--negatives", type=flags.int_at_most(MAX_NEGATIVES), default=defaults.negatives,
        help=f"noise words K per context word, negative sampling, at most {MAX_NEGATIVES} "
             "(default %(default)s)")
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
    if config.corpus is None:
        flags.refuse_other_data(parser, config, "stdlib", "--corpus")
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
    check_memory(config, len(vocabulary))
    negatives = config.negatives if config.loss == "negative" else None

    def train(epoch):
        return make_word2vec_dataset(
            corpus.token_ids, corpus.sentence_ids, corpus.counts, config.batch_size,
            window=config.window, num_negatives=negatives, subsample_t=config.subsample,
            fixed_window=config.fixed_window, model=config.model, seed=config.seed,
            epoch=epoch, for_training=True)

    return types.SimpleNamespace(name=corpus.name, corpus=corpus, words=words, train=train,
                                 validation=None)


def check_memory(config, vocabulary_size):
    """Refuses (`ValueError`) an --embedding-dim (and, keras path, --batch-size, --window,
    --negatives) whose training cannot fit in memory, before the model is built: the two
    float32 tables of `vocabulary_size` x d (input and output vectors), three times over on
    the keras path (its optimizer's two slots), and on the keras path one batch's gathered
    float32 vectors, (1 + 2 --window (1 + --negatives)) per center. A lower bound."""
    dim, keras_path = config.embedding_dim, config.implementation == "keras"
    needed = 2 * 4 * vocabulary_size * dim * (3 if keras_path else 1)
    what = f"--embedding-dim {dim} (a vocabulary of {vocabulary_size} words)"
    if keras_path:
        negatives = config.negatives if config.loss == "negative" else 0
        needed += 4 * config.batch_size * (1 + 2 * config.window * (1 + negatives)) * dim
        what += (f" with --batch-size {config.batch_size} --window {config.window} "
                 f"--negatives {negatives}")
    flags.check_memory(what, needed, "lower --embedding-dim (or --batch-size, --window, "
                       "--negatives), or raise --min-count")


def build_model(config, data):
    """The notes' Keras model of --model and --loss, and the --optimizer at --lr."""
    from kerasnotes.models.word2vec_by_name import word2vec_model
    from kerasnotes.optimizers.by_name import make_training_optimizer

    model = word2vec_model(config.model, config.loss, data.corpus.counts, config.embedding_dim)
    return model, make_training_optimizer(OPTIMIZERS[config.optimizer], config.lr)


def loss_and_metrics(config, data, model):
    from kerasnotes.models.word2vec_by_name import word2vec_loss

    return word2vec_loss(config.loss), []


def callbacks(run, data, model=None):
    """The probe words' nearest words each epoch; keras path: also words/s (`data.speed`)."""
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
    lines = nearest_words_lines(vectors, vocabulary, data.words, run.config.top_k)
    print("Nearest words (cosine similarity):", *lines, sep="\n  ")
    print(f"Projector files: {write_projector(run.run_dir, vectors, vocabulary.tokens)}")
    return data.speed.metrics if trainer is not None else None


def build_server(config, data, model):
    from kerasnotes.serving.embedding import WordVectorServer

    server = WordVectorServer(model.word_vectors.numpy(), data.corpus.vocabulary.tokens,
                              k=config.top_k)
    return server, {"serving_default": server.serve}


def train_fused(run):
    """The fused path (`FusedTrainer`); None for keras (the runner's Trainer flow)."""
    from kerasnotes.models.word2vec_fused import FusedWord2Vec
    from kerasnotes.models.word2vec_training import FusedTrainer

    config = run.config
    if config.implementation == "keras":
        return None
    data = build_data(config)
    if run.policy != "float32":
        print(f"notice: --precision {config.precision} resolved to {run.policy}; the fused "
              "word2vec path trains in float32")
    model = FusedWord2Vec(
        data.corpus.counts, config.embedding_dim, model=config.model, loss=config.loss,
        window=config.window, negatives=config.negatives, subsample_t=config.subsample,
        backend="tf" if config.implementation == "fused_tf" else "auto",
        threads=config.threads, seed=config.seed, name=f"{config.model}_{config.loss}")
    run.start_training()  # opens the run folder: before FusedTrainer writes into it
    trainer = FusedTrainer(model, run.run_dir, [*callbacks(run, data), *run.test_faults()],
                           log_every_n_steps=config.log_every_n_steps,
                           checkpoint_every_n_steps=config.checkpoint_every_n_steps,
                           verbose=config.verbose)
    metrics = trainer.fit(data.corpus.token_ids, data.corpus.sentence_ids, config.epochs,
                          config.lr, config.min_lr)
    evaluate(run, data, model)
    return metrics, run.export(*build_server(config, data, model)), data.name


APP = App(task="word2vec", config_class=Word2VecConfig, doc=__doc__, add_flags=add_flags,
          common_flag_help=COMMON_FLAG_HELP, finish_config=finish_config,
          run_name=lambda config: f"{config.model}-{config.loss}",
          build_data=build_data, build_model=build_model, loss_and_metrics=loss_and_metrics,
          callbacks=callbacks, evaluate=evaluate, build_server=build_server, train=train_fused)
main = APP.main
cli = APP.cli

if __name__ == "__main__":
    APP.cli()
