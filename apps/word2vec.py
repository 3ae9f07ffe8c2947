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
              names the path used. Only the default strategy (one process);
              checkpoints after every epoch (--checkpoint-every-n-steps is keras only)
  fused_tf    the fused steps with TF ops only (no kernel)
  keras       the notes' Keras models (SkipGram, CBOW) on padded batches of --batch-size
              centers, through the Trainer with --optimizer (any --strategy)

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
probe neighbours as text; checkpoints after every epoch: rerunning the same command resumes
after the last finished epoch; projector/ holds vectors.tsv and metadata.tsv for
TensorBoard's projector) and
saved_models/word2vec/<version>/ (SavedModel whose serving_default takes token strings [N]
and returns ids, vectors, neighbors and similarities; unknown tokens map to <unk>).
"""

import dataclasses
import os
import time

import numpy as np

from apps import common

PROBE_CANDIDATES = ("chip", "intel", "baby", "market", "file", "string", "thread", "socket",
                    "list", "error")
MODELS = ("skipgram", "cbow")
LOSSES = ("negative", "hierarchical")
OPTIMIZERS = ("lazy_adam", "adam", "sgd")
IMPLEMENTATIONS = ("fused", "fused_tf", "keras")
# Default --lr: SGD of the fused path (PTB: 0.1 after 5 epochs puts intel, microprocessor,
# chips next to chip; word2vec.c's 0.025 is too slow for 5 epochs of a 1M-word corpus),
# and the Keras path's LazyAdam.
DEFAULT_LR = {"fused": 0.1, "fused_tf": 0.1, "keras": 0.01}


@dataclasses.dataclass
class Word2VecConfig(common.CommonConfig):
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


def parse_args(argv=None):
    defaults = Word2VecConfig()
    parser = common.make_parser(defaults, __doc__)
    parser._option_string_actions["--lr"].help = (
        "learning rate (default: 0.1 for the fused path's SGD, decaying linearly to "
        "--min-lr; 0.01 for --implementation keras)")
    group = parser.add_argument_group("word2vec flags")
    group.add_argument("--implementation", choices=IMPLEMENTATIONS,
                       default=defaults.implementation,
                       help="fused (C++ kernel, else TF ops), fused_tf or keras (the notes' "
                            "models; see above) (default %(default)s)")
    group.add_argument("--threads", type=common.positive_int, default=None,
                       help="kernel threads of the fused path (default: the CPUs available)")
    group.add_argument("--min-lr", type=common.positive_float, default=defaults.min_lr,
                       help="fused path: the rate at the end of the run (default %(default)s)")
    group.add_argument("--corpus", default=None,
                       help="PTB-format text file (default: the embedded standard-library "
                            "docstring corpus)")
    group.add_argument("--model", choices=MODELS, default=defaults.model,
                       help="skip-gram or continuous bag of words (default %(default)s)")
    group.add_argument("--loss", choices=LOSSES, default=defaults.loss,
                       help="negative sampling or hierarchical softmax (default %(default)s)")
    group.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer,
                       help="lazy_adam (Adam updating only the batch's rows), adam (Keras' "
                            "dense Adam) or sgd (default %(default)s)")
    group.add_argument("--embedding-dim", type=common.positive_int,
                       default=defaults.embedding_dim, help="vector length d (default %(default)s)")
    group.add_argument("--window", type=common.positive_int, default=defaults.window,
                       help="maximum context words on each side, n (default %(default)s)")
    group.add_argument("--fixed-window", action="store_true",
                       help="use the window size n for every center (default: a random size "
                            "in 1..n per center, as word2vec does)")
    group.add_argument("--negatives", type=common.positive_int, default=defaults.negatives,
                       help="noise words K per context word, negative sampling "
                            "(default %(default)s)")
    group.add_argument("--min-count", type=common.positive_int, default=defaults.min_count,
                       help="words seen fewer times become <unk> and are dropped "
                            "(default %(default)s)")
    group.add_argument("--subsample", type=common.positive_float, default=defaults.subsample,
                       help="subsampling t: a word w is dropped with probability "
                            "max(1 - sqrt(t / f(w)), 0) (default %(default)s)")
    group.add_argument("--probe-words", default=None,
                       help="comma-separated words whose neighbours are printed (default: "
                            "4 of chip,intel,baby,market,file,string,... in the vocabulary)")
    group.add_argument("--top-k", type=common.positive_int, default=defaults.top_k,
                       help="neighbours printed and exported per word (default %(default)s)")
    group.add_argument("--max-sentences", type=common.positive_int, default=None,
                       help="use only the first N sentences of the corpus (quick runs)")
    config = common.to_config(Word2VecConfig, parser.parse_args(argv))
    if config.lr is None:
        config.lr = DEFAULT_LR[config.implementation]
    return config


def load_corpus(config):
    """The `EncodedCorpus` chosen by --corpus (or --data)."""
    from kerasnotes.data.text.ptb_corpus import encode_corpus, read_ptb_sentences
    from kerasnotes.data.text.stdlib_corpus import stdlib_docstring_sentences
    from kerasnotes.data.text.word2vec_vocabulary import Word2VecVocabulary

    if config.corpus is None and config.data != "stdlib":
        raise ValueError(f"--data must be 'stdlib' (the embedded corpus); received "
                         f"{config.data!r}. Give a text file with --corpus PATH")
    if config.corpus is not None:
        sentences = read_ptb_sentences(os.path.expanduser(config.corpus))
        name = f"{config.corpus} (PTB format)"
    else:
        sentences = stdlib_docstring_sentences()
        name = "Python standard library docstrings (embedded corpus)"
    if config.max_sentences is not None:
        sentences = sentences[:config.max_sentences]
    vocabulary = Word2VecVocabulary.from_sentences(sentences, min_count=config.min_count)
    corpus = encode_corpus(sentences, vocabulary, name=name)
    corpus.name = (f"{name}: {len(sentences)} sentences, {corpus.num_tokens} tokens in a "
                   f"vocabulary of {len(vocabulary)} words (min count {config.min_count})")
    return corpus


def probe_words(config, vocabulary):
    if config.probe_words:
        words = [w.strip() for w in config.probe_words.split(",") if w.strip()]
        for word in words:
            if word not in vocabulary:
                raise ValueError(f"--probe-words: {word!r} is not in the vocabulary "
                                 f"({len(vocabulary)} words, min count {config.min_count})")
        return words
    words = [w for w in PROBE_CANDIDATES if w in vocabulary][:4]
    return words or list(vocabulary.tokens[1:5])


def build_dataset(config, corpus):
    """Returns `train_data(epoch)`: the epoch's `(x, y)` batches for the Trainer."""
    from kerasnotes.data.text.word2vec_dataset import make_word2vec_dataset

    negatives = config.negatives if config.loss == "negative" else None

    def train_data(epoch):
        return make_word2vec_dataset(
            corpus.token_ids, corpus.sentence_ids, corpus.counts, config.batch_size,
            window=config.window, num_negatives=negatives, subsample_t=config.subsample,
            fixed_window=config.fixed_window, model=config.model, seed=config.seed,
            epoch=epoch, for_training=True)

    return train_data


def build_model(config, vocabulary, counts):
    from kerasnotes.layers.hierarchical_softmax import HierarchicalSoftmaxLoss
    from kerasnotes.losses.masked_binary_cross_entropy import MaskedBinaryCrossEntropy
    from kerasnotes.models.cbow import CBOW
    from kerasnotes.models.skip_gram import SkipGram

    cls = SkipGram if config.model == "skipgram" else CBOW
    output = "negative_sampling" if config.loss == "negative" else "hierarchical_softmax"
    model = cls(len(vocabulary), config.embedding_dim, output=output,
                word_counts=counts.tolist(), name=f"{config.model}_{config.loss}")
    model.build()
    loss = MaskedBinaryCrossEntropy() if config.loss == "negative" else HierarchicalSoftmaxLoss()
    return model, loss, build_optimizer(config)


def build_optimizer(config):
    """The optimizer named by --optimizer, with learning rate --lr."""
    import keras

    from kerasnotes.optimizers.lazy_adam import LazyAdam
    from kerasnotes.optimizers.sgd import SGD

    if config.optimizer == "lazy_adam":
        return LazyAdam(config.lr)
    if config.optimizer == "adam":
        return keras.optimizers.Adam(config.lr)
    if config.optimizer == "sgd":
        return SGD(config.lr)
    raise ValueError(f"--optimizer must be one of {OPTIMIZERS}; received {config.optimizer!r}")


def neighbours_text(model, vocabulary, words, k):
    from kerasnotes.ops.embedding_queries import most_similar

    vectors = model.word_vectors.numpy()
    lines = []
    for word in words:
        found = most_similar(vectors, vocabulary, word, k=k, exclude=(vocabulary.unknown_token,))
        lines.append(f"{word}: " + ", ".join(f"{w} ({s:.2f})" for w, s in found))
    return lines


def neighbour_summary(vocabulary, words, k):
    """A Trainer summary hook: print the probe words' neighbours and log them as text."""
    import tensorflow as tf

    def hook(model, epoch):
        lines = neighbours_text(model, vocabulary, words, k)
        print(f"Nearest words after epoch {epoch + 1}:")
        for line in lines:
            print(f"  {line}")
        tf.summary.text("nearest_words", "\n\n".join(lines), step=epoch)

    return hook


def write_projector(run_dir, vectors, tokens):
    """vectors.tsv + metadata.tsv + projector_config.pbtxt for TensorBoard's projector."""
    from tensorboard.plugins import projector

    folder = os.path.join(run_dir, "projector")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vectors.tsv"), "w") as f:
        for row in vectors:
            f.write("\t".join(f"{x:.6g}" for x in row) + "\n")
    with open(os.path.join(folder, "metadata.tsv"), "w", encoding="utf-8") as f:
        for token in tokens:
            f.write(token.replace("\t", " ") + "\n")
    config = projector.ProjectorConfig()
    embedding = config.embeddings.add()
    embedding.tensor_name = "word_vectors"
    embedding.tensor_path = "vectors.tsv"
    embedding.metadata_path = "metadata.tsv"
    projector.visualize_embeddings(folder, config)
    return folder


def check_fused_strategy(config):
    """The fused path trains in one process: refuse tf.distribute strategies in one line."""
    several = config.strategy == "auto" and os.environ.get("TF_CONFIG")
    if config.strategy not in ("auto", "default") or several:
        raise ValueError(f"--strategy {config.strategy}: the fused word2vec path trains in one "
                         "process (its kernel runs --threads threads); use --implementation "
                         "keras to train with a tf.distribute strategy")


def train_fused(config, corpus, run_dir, summary_hook):
    """The fused path's loop: epochs of kernel calls (or TF steps), checkpointed per epoch.

    Writes TensorBoard scalars (train/: epoch_loss, epoch_words_per_second, learning_rate,
    batch_loss), checkpoints (run_dir/checkpoints, one per epoch: rerunning the same
    command resumes after the last finished epoch). Returns `(model, metrics)`.
    """
    import tensorflow as tf

    from kerasnotes.data.text.word2vec_examples import sentence_splits
    from kerasnotes.models.word2vec_fused import FusedWord2Vec

    backend = "tf" if config.implementation == "fused_tf" else "auto"
    model = FusedWord2Vec(corpus.counts, config.embedding_dim, model=config.model,
                          loss=config.loss, window=config.window, negatives=config.negatives,
                          subsample_t=config.subsample, backend=backend, threads=config.threads,
                          seed=config.seed, name=f"{config.model}_{config.loss}")
    if model.kernel_unavailable:
        print(f"notice: the C++ word2vec kernel is unavailable ({model.kernel_unavailable}); "
              "training with the fused TF ops path")
    print(f"Training path: {model.describe()}")
    done_epochs = tf.Variable(0, dtype=tf.int64, name="epochs_done")
    checkpoint = tf.train.Checkpoint(input_vectors=model.input_vectors,
                                     output_vectors=model.output_vectors, epochs_done=done_epochs)
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(run_dir, "checkpoints"),
                                         max_to_keep=2)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_consumed()
        print(f"Resuming from {manager.latest_checkpoint} ({int(done_epochs)} of "
              f"{config.epochs} epochs done)")
    start_epoch = int(done_epochs)
    train_writer = tf.summary.create_file_writer(os.path.join(run_dir, "train"))
    validation_writer = tf.summary.create_file_writer(os.path.join(run_dir, "validation"))
    splits = sentence_splits(corpus.sentence_ids)
    total_words = config.epochs * corpus.num_tokens
    calls = [start_epoch * 10**6]

    def on_batch(loss, lr):
        if calls[0] % config.log_every_n_steps == 0:
            with train_writer.as_default():
                tf.summary.scalar("batch_loss", loss, step=calls[0])
                tf.summary.scalar("batch_learning_rate", lr, step=calls[0])
        calls[0] += 1

    losses, kept_words, seconds = [], 0, 0.0
    for epoch in range(start_epoch, config.epochs):
        start = time.perf_counter()
        stats = model.train_epoch(corpus.token_ids, splits, epoch, config.lr, config.min_lr,
                                  epoch * corpus.num_tokens, total_words, on_batch=on_batch)
        elapsed = time.perf_counter() - start
        if not np.isfinite(stats["loss"]):
            raise ValueError(f"training diverged in epoch {epoch + 1} (loss {stats['loss']}); "
                             f"lower --lr (now {config.lr})")
        rate = stats["kept_words"] / max(elapsed, 1e-9)
        losses.append(stats["loss"])
        kept_words += stats["kept_words"]
        seconds += elapsed
        with train_writer.as_default():
            tf.summary.scalar("epoch_loss", stats["loss"], step=epoch)
            tf.summary.scalar("epoch_words_per_second", rate, step=epoch)
            tf.summary.scalar("learning_rate", stats["lr"], step=epoch)
        if config.verbose:
            print(f"Epoch {epoch + 1}/{config.epochs}: loss {stats['loss']:.4f}, "
                  f"{stats['kept_words']} words (after subsampling) in {elapsed:.2f} s = "
                  f"{rate:,.0f} words/s, lr {stats['lr']:.5f}", flush=True)
        with validation_writer.as_default():
            summary_hook(model, epoch)
        done_epochs.assign(epoch + 1)
        manager.save(checkpoint_number=epoch + 1)
    train_writer.flush()
    validation_writer.flush()
    metrics = {}
    if losses:
        metrics["train_loss"] = losses[-1]
        metrics["words_per_second"] = kept_words / max(seconds, 1e-9)
    return model, metrics


def train_keras(config, corpus, run_dir, summary_hook, strategy):
    """The notes' Keras models through the Trainer. Returns `(model, metrics)`."""
    from kerasnotes.data.text.word2vec_dataset import subsampled_centers
    from kerasnotes.training.trainer import Trainer

    train_data = build_dataset(config, corpus)
    with strategy.scope():
        model, loss, optimizer = build_model(config, corpus.vocabulary, corpus.counts)
    trainer = Trainer(
        model, loss, optimizer, strategy=strategy, run_dir=run_dir,
        log_every_n_steps=config.log_every_n_steps,
        checkpoint_every_n_steps=config.checkpoint_every_n_steps,
        summary_hook=summary_hook,
        verbose=config.verbose,
    )
    start_epoch = trainer.restore()[0]
    start = time.perf_counter()
    history = trainer.fit(train_data, epochs=config.epochs)
    seconds = time.perf_counter() - start
    trained_words = sum(
        int(subsampled_centers(corpus.token_ids, corpus.sentence_ids, corpus.counts,
                               config.subsample, config.seed, epoch, shuffle=False)[2].shape[0])
        for epoch in range(start_epoch, config.epochs))
    metrics = {}
    if history.get("loss"):
        metrics["train_loss"] = history["loss"][-1]
    if trained_words:
        metrics["words_per_second"] = trained_words / max(seconds, 1e-9)
    return model, metrics


def main(argv=None):
    config = parse_args(argv)
    import keras

    fused = config.implementation != "keras"
    if fused:
        check_fused_strategy(config)
        strategy = None
    else:
        from kerasnotes.training.strategy import choose_strategy

        strategy = choose_strategy(config.strategy)  # first: multi-worker setup precedes ops
    keras.utils.set_random_seed(config.seed)
    run_dir = common.prepare_run_dir(config, f"{config.model}-{config.loss}")
    corpus = load_corpus(config)
    vocabulary = corpus.vocabulary
    words = probe_words(config, vocabulary)
    if config.top_k > len(vocabulary) - 2:
        raise ValueError(f"--top-k must be at most {len(vocabulary) - 2} (vocabulary of "
                         f"{len(vocabulary)} words); received {config.top_k}")
    print(f"Data: {corpus.name}")

    from kerasnotes.serving.embedding import WordVectorServer
    from kerasnotes.serving.export import export_saved_model

    hook = neighbour_summary(vocabulary, words, config.top_k)
    if fused:
        model, metrics = train_fused(config, corpus, run_dir, hook)
    else:
        model, metrics = train_keras(config, corpus, run_dir, hook, strategy)

    print("Nearest words (cosine similarity):")
    for line in neighbours_text(model, vocabulary, words, config.top_k):
        print(f"  {line}")
    vectors = model.word_vectors.numpy()
    projector_dir = write_projector(run_dir, vectors, vocabulary.tokens)
    print(f"Projector files: {projector_dir}")
    server = WordVectorServer(vectors, vocabulary.tokens, k=config.top_k)
    export_path = export_saved_model(
        server, config.export_dir or f"saved_models/{config.task}",
        {"serving_default": server.serve}, strategy=strategy,
    )
    common.print_report(config, metrics, export_path, corpus.name)
    return metrics, export_path


if __name__ == "__main__":
    common.run(main, "word2vec")
