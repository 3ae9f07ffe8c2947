"""Character-level language model: train an RNN/GRU/LSTM of the notes, generate text, export it.

    python -m apps.language_model                        # GRU on the embedded docstrings
    python -m apps.language_model --cell lstm --layers 2 --sampling random
    python -m apps.language_model --text ../shared/data/lyrics/jaychou_lyrics.txt
    python -m apps.language_model --bidirectional --sampling random   # trains, cannot generate
    tensorboard --logdir runs/language_model

Data (--text / --data):
  docstrings      (default) real English text gathered deterministically from the Python
                  standard library's docstrings (no network, no file; see --max-chars)
  --text PATH     your own UTF-8 text file, e.g. Chinese lyrics; any Unicode text works
The last --validation-fraction of the tokens is held out to measure perplexity.

Sampling (--sampling): "sequential" lays the corpus into --batch-size rows and carries the
hidden state from one batch to the next (reset every epoch); "random" serves
non-overlapping windows in a random order and starts every batch from a zero state.
Gradients are clipped to the global norm --clip (the notes' g <- min(theta/||g||, 1) g).

Outputs: runs/language_model/<cell><layers>[-bi]-<sampling>/ (config.json, vocabulary.json,
TensorBoard events with perplexity and generated samples per epoch, checkpoints; rerunning
the same command resumes) and saved_models/language_model/<version>/ (SavedModel whose
serving_default takes a `prefix` string and a `length` int32 and returns the generated
`text`, the `generated` continuation and the number of `unknown_tokens` in the prefix; the
vocabulary is inside). A bidirectional model is trained and evaluated but not exported:
it cannot generate text left to right.
"""

import dataclasses

from apps import common


@dataclasses.dataclass
class LanguageModelConfig(common.CommonConfig):
    task: str = "language_model"
    data: str = "docstrings"
    text: str = None
    max_chars: int = 200_000
    token_level: str = "char"
    min_freq: int = 1
    validation_fraction: float = 0.1
    cell: str = "gru"
    layers: int = 1
    units: int = 256
    bidirectional: bool = False
    implementation: str = "fused"
    embedding_dim: int = 0
    sampling: str = "sequential"
    num_steps: int = 35
    epochs: int = 3  # the held-out perplexity is lowest after ~3 epochs (then it overfits)
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 0.005
    clip: float = 1.0
    ngram: int = 3
    prefixes: str = "The |Return "
    generate_length: int = 60
    temperature: float = 0.0
    log_every_n_steps: int = 20


def _fraction(text):
    value = float(text)
    if not 0 < value < 1:
        raise ValueError(f"must be in (0, 1), got {text}")
    return value


def parse_args(argv=None):
    import argparse

    defaults = LanguageModelConfig()
    parser = common.make_parser(defaults, __doc__)
    data = parser.add_argument_group("text flags")
    data.add_argument("--text", default=None, metavar="PATH",
                      help="UTF-8 text file to train on (default: the embedded Python "
                           "docstrings, --data docstrings)")
    data.add_argument("--max-chars", type=common.positive_int, default=defaults.max_chars,
                      help="length of the embedded docstring corpus (default %(default)s)")
    data.add_argument("--token-level", choices=["char", "word"], default=defaults.token_level,
                      help="tokens are characters or whitespace-separated words "
                           "(default %(default)s)")
    data.add_argument("--min-freq", type=common.positive_int, default=defaults.min_freq,
                      help="tokens seen fewer times become <unk> (default %(default)s)")
    data.add_argument("--validation-fraction", type=_fraction,
                      default=defaults.validation_fraction,
                      help="held-out tail of the corpus for perplexity (default %(default)s)")
    data.add_argument("--sampling", choices=["sequential", "random"], default=defaults.sampling,
                      help="minibatch sampling, see above (default %(default)s)")
    data.add_argument("--num-steps", type=common.positive_int, default=defaults.num_steps,
                      help="time steps per training window (default %(default)s)")
    model = parser.add_argument_group("model flags")
    model.add_argument("--cell", choices=["rnn", "gru", "lstm"], default=defaults.cell,
                       help="recurrent cell (default %(default)s)")
    model.add_argument("--layers", type=common.positive_int, default=defaults.layers,
                       help="stacked recurrent layers, the notes' deep RNN (default %(default)s)")
    model.add_argument("--units", type=common.positive_int, default=defaults.units,
                       help="hidden units per layer and direction (default %(default)s)")
    model.add_argument("--bidirectional", action=argparse.BooleanOptionalAction,
                       default=defaults.bidirectional,
                       help="forward + backward layers (needs --sampling random; sees the "
                            "future, so it cannot generate and is not exported)")
    model.add_argument("--implementation", choices=["scratch", "fused"],
                       default=defaults.implementation,
                       help="the notes' cells written from scratch, or the equal and faster "
                            "Keras layers (default %(default)s)")
    model.add_argument("--embedding-dim", type=int, default=defaults.embedding_dim,
                       help="0: the notes' one-hot inputs; N: a learned embedding of size N "
                            "(default %(default)s)")
    train = parser.add_argument_group("training and generation flags")
    train.add_argument("--optimizer", choices=["adam", "sgd"], default=defaults.optimizer,
                       help="Adam or plain minibatch SGD (default %(default)s)")
    train.add_argument("--clip", type=common.positive_float, default=defaults.clip,
                       help="clip gradients to this global norm theta (default %(default)s)")
    train.add_argument("--ngram", type=int, default=defaults.ngram,
                       help="also report the perplexity of a count-based n-gram model of this "
                            "order on the validation text (0: off; default %(default)s)")
    train.add_argument("--prefixes", default=defaults.prefixes,
                       help="'|'-separated prefixes to continue after each epoch and at the "
                            "end (default %(default)r)")
    train.add_argument("--generate-length", type=common.positive_int,
                       default=defaults.generate_length,
                       help="tokens generated per prefix (default %(default)s)")
    train.add_argument("--temperature", type=float, default=defaults.temperature,
                       help="0: greedy; > 0: sample from softmax(logits / T) "
                            "(default %(default)s)")
    parser.set_defaults(log_every_n_steps=defaults.log_every_n_steps)
    config = common.to_config(LanguageModelConfig, parser.parse_args(argv))
    if config.data != "docstrings":
        raise ValueError(
            f"--data must be 'docstrings' (the embedded corpus); received {config.data!r}. "
            "Use --text PATH for a text file."
        )
    if config.embedding_dim < 0:
        raise ValueError(f"--embedding-dim must be >= 0; received {config.embedding_dim}")
    if config.temperature < 0:
        raise ValueError(f"--temperature must be >= 0; received {config.temperature}")
    if config.ngram < 0:
        raise ValueError(f"--ngram must be >= 0; received {config.ngram}")
    if config.bidirectional and config.sampling == "sequential":
        raise ValueError(
            "--bidirectional needs --sampling random: sequential sampling carries the hidden "
            "state left to right, which a backward layer cannot use"
        )
    return config


def run_name(config):
    bidirectional = "-bi" if config.bidirectional else ""
    return f"{config.cell}{config.layers}{bidirectional}-{config.sampling}"


def build_dataset(config):
    """Loads and encodes the text; returns `(corpus, vocabulary, train_data(epoch, model),
    validation_dataset, train_ids, validation_ids)`."""
    import numpy as np

    from kerasnotes.data.text.sequence_sampling import (
        random_sampling_dataset,
        sequential_sampling_dataset,
    )
    from kerasnotes.data.text.text_corpus import load_text_corpus
    from kerasnotes.data.text.text_vocabulary import TextVocabulary

    corpus = load_text_corpus(config.text, max_chars=config.max_chars)
    vocabulary = TextVocabulary.from_text(corpus.text, config.token_level, config.min_freq)
    ids = np.array(vocabulary.encode(corpus.text), dtype=np.int32)
    split = int(round(len(ids) * (1 - config.validation_fraction)))
    train_ids, validation_ids = ids[:split], ids[split:]
    num_windows = (len(validation_ids) - 1) // config.num_steps
    if num_windows < 1:
        raise ValueError(
            f"{corpus.name}: the held-out {len(validation_ids)} tokens are too few for one "
            f"window of --num-steps {config.num_steps}; use a longer text, a larger "
            "--validation-fraction or a smaller --num-steps"
        )
    validation = random_sampling_dataset(validation_ids, min(config.batch_size, num_windows),
                                         config.num_steps)

    def train_data(epoch, model=None):
        if config.sampling == "sequential":
            if model is not None:
                model.reset_states()  # the notes: initialize the state once per epoch
            return sequential_sampling_dataset(train_ids, config.batch_size, config.num_steps)
        return random_sampling_dataset(train_ids, config.batch_size, config.num_steps,
                                       seed=config.seed, epoch=epoch)

    train_data(0)  # fails now, with a clear message, if the corpus is too short
    return corpus, vocabulary, train_data, validation, train_ids, validation_ids


def build_model(config, vocabulary):
    import keras

    from kerasnotes.models.rnn_language_model import RNNLanguageModel

    model = RNNLanguageModel(
        vocabulary, cell=config.cell, units=config.units, num_layers=config.layers,
        bidirectional=config.bidirectional, implementation=config.implementation,
        embedding_dim=config.embedding_dim or None,
        stateful=config.sampling == "sequential",
    )
    model.build((None, None))
    if config.optimizer == "adam":
        optimizer = keras.optimizers.Adam(config.lr)
    else:
        optimizer = keras.optimizers.SGD(config.lr)
    return model, optimizer


def prefixes_of(config):
    return [p for p in config.prefixes.split("|") if p]


def generate_samples(model, config):
    """`{prefix: generated text}` for the configured prefixes (quietly maps unknown tokens)."""
    import warnings

    samples = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for prefix in prefixes_of(config):
            samples[prefix] = model.generate(prefix, config.generate_length,
                                             temperature=config.temperature, seed=config.seed)
    return samples


def text_summary(config):
    """A Trainer summary hook: the generated samples of each epoch as TensorBoard text."""
    import tensorflow as tf

    def hook(model, epoch):
        if model.bidirectional:
            shown = "(bidirectional model: it cannot generate text left to right)"
        else:
            samples = generate_samples(model, config)
            # Markdown: each sample in its own code block keeps the text as it is.
            shown = "\n\n".join(f"    {text!r}" for text in samples.values())
        tf.summary.text("generated_text", shown, step=epoch)

    return hook


def text_generator_server(model):
    """The serving `tf.Module` of a unidirectional `RNNLanguageModel` (greedy decoding).

    `serve(prefix, length)`: a scalar string and a scalar int32; the prefix is tokenized
    like the training text (UTF-8 characters, or whitespace-separated words), unknown
    tokens become `<unk>` (and are counted), the network reads the prefix and then
    appends the most likely token `length` times. Returns `text` (prefix + continuation),
    `generated` (the continuation) and `unknown_tokens` (int32). The vocabulary is a
    lookup table inside the SavedModel.
    """
    import tensorflow as tf

    if model.bidirectional:
        raise ValueError("a bidirectional model cannot generate text, so it is not exported")
    vocabulary = model.vocabulary

    class Server(tf.Module):
        def __init__(self):
            super().__init__(name="text_generator")
            self.model = model
            self.tokens = tf.constant(vocabulary.tokens)
            self.table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(
                    self.tokens, tf.range(len(vocabulary.tokens), dtype=tf.int64)),
                default_value=0,
            )
            self.serve = tf.function(self._serve, input_signature=[
                tf.TensorSpec([], tf.string, name="prefix"),
                tf.TensorSpec([], tf.int32, name="length"),
            ])

        def _serve(self, prefix, length):
            if vocabulary.token_level == "char":
                pieces = tf.strings.unicode_split(prefix, "UTF-8")
            else:
                pieces = tf.strings.split(prefix)
            ids = tf.cast(self.table.lookup(pieces), tf.int32)
            unknown = tf.reduce_sum(tf.cast(tf.equal(ids, 0), tf.int32))
            tf.debugging.assert_positive(tf.size(ids), message="prefix must not be empty")
            logits, states = self.model(ids[None, :], return_state=True, training=False)
            generated = tf.TensorArray(tf.int32, size=0, dynamic_size=True)

            def step(i, last_logits, states, generated):
                token = tf.argmax(last_logits, axis=-1, output_type=tf.int32)
                generated = generated.write(i, token[0])
                logits, states = self.model(token[:, None], initial_state=states,
                                            return_state=True, training=False)
                return i + 1, logits[:, -1], states, generated

            _, _, _, generated = tf.while_loop(
                lambda i, *_: i < length, step,
                (tf.constant(0), logits[:, -1], states, generated),
            )
            words = tf.gather(self.tokens, generated.stack())
            continuation = tf.strings.reduce_join(words, separator=vocabulary.separator)
            if vocabulary.token_level == "word":
                text = tf.strings.join([tf.strings.strip(prefix), continuation],
                                       separator=" ")
                text = tf.where(length > 0, text, prefix)
            else:
                text = prefix + continuation
            return {"text": text, "generated": continuation, "unknown_tokens": unknown}

    return Server()


def serving_copy(model):
    """A non-stateful copy of `model` with the same weights, outside any strategy scope."""
    from kerasnotes.models.rnn_language_model import RNNLanguageModel

    copy = RNNLanguageModel.from_config(dict(model.get_config(), stateful=False))
    copy.build((None, None))
    copy.set_weights(model.get_weights())
    return copy


def main(argv=None):
    config = parse_args(argv)
    import keras

    from kerasnotes.training.strategy import choose_strategy

    strategy = choose_strategy(config.strategy)  # first: multi-worker setup precedes other ops
    keras.utils.set_random_seed(config.seed)
    import os

    run_dir = common.prepare_run_dir(config, run_name(config))
    corpus, vocabulary, train_data, validation, train_ids, validation_ids = build_dataset(config)
    vocabulary.save(os.path.join(run_dir, "vocabulary.json"))
    print(f"Data: {corpus.name} (sha256 {corpus.fingerprint}): {len(train_ids)} training and "
          f"{len(validation_ids)} validation {config.token_level} tokens, vocabulary of "
          f"{len(vocabulary)}; {config.sampling} sampling, {config.num_steps} steps")

    from kerasnotes.metrics.perplexity import Perplexity
    from kerasnotes.serving.export import export_saved_model
    from kerasnotes.training.trainer import Trainer

    with strategy.scope():
        model, optimizer = build_model(config, vocabulary)
    trainer = Trainer(
        model,
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer,
        metrics=[Perplexity()],
        strategy=strategy,
        run_dir=run_dir,
        log_every_n_steps=config.log_every_n_steps,
        checkpoint_every_n_steps=config.checkpoint_every_n_steps,
        clip_global_norm=config.clip,
        summary_hook=text_summary(config),
        verbose=config.verbose,
    )
    trainer.fit(lambda epoch: train_data(epoch, model), epochs=config.epochs,
                validation_data=validation)
    metrics = {f"validation_{k}": v for k, v in trainer.evaluate(validation).items()}
    if config.ngram:
        from kerasnotes.models.ngram import NGramLanguageModel

        ngram = NGramLanguageModel(n=config.ngram, k=0.1).fit(train_ids, len(vocabulary))
        metrics[f"validation_perplexity_{config.ngram}gram_baseline"] = ngram.perplexity(
            validation_ids)

    export_path = None
    if config.bidirectional:
        print("\nNo text generated and no export: a bidirectional model cannot generate "
              "text, it reads the tokens to the right, which do not exist yet when "
              "generating left to right.")
    else:
        serving_model = serving_copy(model)
        print("\nGenerated text:")
        for prefix, text in generate_samples(serving_model, config).items():
            print(f"  {prefix!r} -> {text!r}")
        server = text_generator_server(serving_model)
        export_path = export_saved_model(
            server, config.export_dir or f"saved_models/{config.task}",
            {"serving_default": server.serve}, strategy=strategy,
        )
    common.print_report(config, metrics, export_path, corpus.name)
    return metrics, export_path


if __name__ == "__main__":
    common.run(main, "language_model")
