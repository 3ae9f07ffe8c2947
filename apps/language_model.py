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
With --ngram N the report compares the network with a count-based N-gram model on the
same validation windows (a paired test: a difference is called only when p < 0.05).

Outputs: runs/language_model/<cell><layers>[-bi]-<sampling>/ (config.json, vocabulary.json,
TensorBoard events with perplexity and generated samples per epoch, checkpoints; rerunning
the same command resumes) and saved_models/language_model/<version>/ (SavedModel whose
serving_default takes a `prefix` string and a `length` int32 and returns the generated
`text`, the `generated` continuation and the number of `unknown_tokens` in the prefix; the
vocabulary is inside). A bidirectional model is trained and evaluated but not exported:
it cannot generate text left to right.
"""

import argparse
import dataclasses
import os
import types

from apps import flags
from apps.runner import App, parse_config


@dataclasses.dataclass
class LanguageModelConfig(flags.CommonConfig):
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


# Tokens generated per prefix after every epoch and at the end: one model step each.
MAX_GENERATE_LENGTH = 10_000
# The largest --ngram: the n-gram keeps a context of n - 1 tokens per position (memory grows
# with n times the corpus), and longer contexts are nearly all seen once.
MAX_NGRAM = 10
# Values per step of each recurrent cell kept for the gradient (its gates).
CELL_GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def add_flags(parser, defaults):
    text = parser.add_argument_group("text flags").add_argument
    text("--text", metavar="PATH", help="UTF-8 text file to train on (default: the embedded "
         "Python docstrings, --data docstrings)")
    text("--max-chars", type=flags.positive_int, default=defaults.max_chars,
         help="length of the embedded docstring corpus (default %(default)s)")
    text("--token-level", choices=["char", "word"], default=defaults.token_level,
         help="tokens are characters or whitespace-separated words (default %(default)s)")
    text("--min-freq", type=flags.positive_int, default=defaults.min_freq,
         help="tokens seen fewer times become <unk> (default %(default)s)")
    text("--validation-fraction", type=flags.fraction,
         default=defaults.validation_fraction,
         help="held-out tail of the corpus for perplexity, in (0, 1) (default %(default)s)")
    text("--sampling", choices=["sequential", "random"], default=defaults.sampling,
         help="minibatch sampling, see above (default %(default)s)")
    text("--num-steps", type=flags.positive_int, default=defaults.num_steps,
         help="time steps per training window (default %(default)s)")
    model = parser.add_argument_group("model flags").add_argument
    model("--cell", choices=["rnn", "gru", "lstm"], default=defaults.cell,
          help="recurrent cell (default %(default)s)")
    model("--layers", type=flags.positive_int, default=defaults.layers,
          help="stacked recurrent layers, the notes' deep RNN (default %(default)s)")
    model("--units", type=flags.positive_int, default=defaults.units,
          help="hidden units per layer and direction (default %(default)s)")
    model("--bidirectional", action=argparse.BooleanOptionalAction,
          default=defaults.bidirectional, help="forward + backward layers (needs --sampling "
          "random; sees the future, so it cannot generate and is not exported)")
    model("--implementation", choices=["scratch", "fused"], default=defaults.implementation,
          help="the notes' cells written from scratch, or the equal and faster Keras layers "
               "(default %(default)s)")
    model("--embedding-dim", type=flags.non_negative_int, default=defaults.embedding_dim,
          help="0: the notes' one-hot inputs; N: a learned embedding of size N "
               "(default %(default)s)")
    train = parser.add_argument_group("training and generation flags").add_argument
    train("--optimizer", choices=["adam", "sgd"], default=defaults.optimizer,
          help="Adam or plain minibatch SGD (default %(default)s)")
    train("--clip", type=flags.positive_float, default=defaults.clip,
          help="clip gradients to this global norm theta (default %(default)s)")
    train("--ngram", type=flags.int_at_most(MAX_NGRAM, minimum=0), default=defaults.ngram,
          help="also report the perplexity of a count-based n-gram model of this order on the "
               f"validation text, and a paired comparison (0: off; at most {MAX_NGRAM}, its "
               "counts keep every context; default %(default)s)")
    train("--prefixes", default=defaults.prefixes, help="'|'-separated prefixes to continue "
          "after each epoch and at the end (default %(default)r)")
    train("--generate-length", type=flags.int_at_most(MAX_GENERATE_LENGTH),
          default=defaults.generate_length,
          help=f"tokens generated per prefix, at most {MAX_GENERATE_LENGTH} (default "
               "%(default)s)")
    train("--temperature", type=flags.non_negative_float, default=defaults.temperature,
          help="0: greedy; > 0: sample from softmax(logits / T) (default %(default)s)")


def finish_config(config, parser):
    flags.refuse_other_data(parser, config, "docstrings", "--text")
    if config.bidirectional and config.sampling == "sequential":
        parser.error("--bidirectional needs --sampling random: sequential sampling carries "
                     "the hidden state left to right, which a backward layer cannot use")
    check_memory(config)


def check_memory(config):
    """Refuses (`ValueError`) --units, --layers, --embedding-dim, --num-steps and
    --batch-size whose training step cannot fit in memory, before the text is read: the
    recurrent weights (16 bytes each: value, gradient, two optimizer slots; the vocabulary
    is not known yet, so the input and output layers count as at least 1 and 2 tokens) and
    the float32 gate values of every step of one batch, kept for the gradient. A lower
    bound: a setting that passes may still need more."""
    gates, units = CELL_GATES[config.cell], config.units
    directions = 2 if config.bidirectional else 1
    inputs, weights = config.embedding_dim or 1, 0
    for _ in range(config.layers):
        weights += directions * gates * (inputs + units + 1) * units
        inputs = directions * units
    weights += inputs * 2
    values = config.batch_size * config.num_steps * config.layers * directions * units
    needed = 16 * weights + 4 * values * (gates + 1)
    flags.check_memory(
        f"--cell {config.cell} --units {units} --layers {config.layers} --embedding-dim "
        f"{config.embedding_dim} --num-steps {config.num_steps} --batch-size "
        f"{config.batch_size}", needed,
        "lower --units, --layers, --embedding-dim, --num-steps or --batch-size")


def parse_args(argv=None):
    return parse_config(APP, argv)


def run_name(config):
    return f"{config.cell}{config.layers}{'-bi' if config.bidirectional else ''}-{config.sampling}"


def build_data(config):
    """The text as `train(epoch)` and `validation` datasets, with its vocabulary and ids."""
    from kerasnotes.data.text.sequence_sampling import (
        holdout_split,
        random_sampling_dataset,
        sequential_sampling_dataset,
    )
    from kerasnotes.data.text.text_corpus import load_text_corpus
    from kerasnotes.data.text.text_vocabulary import TextVocabulary

    corpus = load_text_corpus(config.text, max_chars=config.max_chars)
    vocabulary = TextVocabulary.from_text(corpus.text, config.token_level, config.min_freq)
    train_ids, validation_ids = holdout_split(vocabulary.encode(corpus.text),
                                              config.validation_fraction, config.num_steps,
                                              corpus.name)

    def train(epoch):
        if config.sampling == "sequential":  # the carried state is reset by a callback
            return sequential_sampling_dataset(train_ids, config.batch_size, config.num_steps)
        return random_sampling_dataset(train_ids, config.batch_size, config.num_steps,
                                       seed=config.seed, epoch=epoch)

    train(0)  # fails now, with a clear message, if the corpus is too short
    print(f"Data: {corpus.name} (sha256 {corpus.fingerprint}): {len(train_ids)} training and "
          f"{len(validation_ids)} validation {config.token_level} tokens, vocabulary of "
          f"{len(vocabulary)}; {config.sampling} sampling, {config.num_steps} steps")
    num_windows = (len(validation_ids) - 1) // config.num_steps
    validation = random_sampling_dataset(validation_ids, min(config.batch_size, num_windows),
                                         config.num_steps)
    return types.SimpleNamespace(name=corpus.name, train=train, validation=validation,
                                 vocabulary=vocabulary, train_ids=train_ids,
                                 validation_ids=validation_ids)


def build_model(config, data):
    from kerasnotes.models.rnn_language_model import RNNLanguageModel
    from kerasnotes.optimizers.by_name import make_training_optimizer

    model = RNNLanguageModel(
        data.vocabulary, cell=config.cell, units=config.units, num_layers=config.layers,
        bidirectional=config.bidirectional, implementation=config.implementation,
        embedding_dim=config.embedding_dim or None, stateful=config.sampling == "sequential")
    model.build((None, None))
    return model, make_training_optimizer(config.optimizer, config.lr)


def loss_and_metrics(config, data, model):
    import keras

    from kerasnotes.metrics.perplexity import Perplexity

    return keras.losses.SparseCategoricalCrossentropy(from_logits=True), [Perplexity()]


def text_samples(config, enabled=True):
    """The continuations of the '|'-separated --prefixes (TensorBoard text each epoch)."""
    from kerasnotes.models.rnn_language_model import GeneratedTextSummary

    return GeneratedTextSummary([p for p in config.prefixes.split("|") if p],
                                config.generate_length, config.temperature, config.seed,
                                enabled=enabled)


def callbacks(run, data, model):
    """The carried state's reset each epoch (sequential sampling), samples in TensorBoard."""
    from kerasnotes.models.rnn_language_model import ResetStatesEachEpoch
    from kerasnotes.training.strategy import is_chief

    if is_chief(run.strategy):  # the run folder is open by now (build_data writes nothing)
        data.vocabulary.save(os.path.join(run.run_dir, "vocabulary.json"))
    samples = text_samples(run.config, enabled=is_chief(run.strategy))
    return [ResetStatesEachEpoch(), samples] if model.stateful else [samples]


def evaluate(run, data, model, trainer):
    """Validation loss and perplexity; with --ngram, the n-gram's and a paired comparison."""
    config, n = run.config, run.config.ngram
    # validation_perplexity: exp of the mean loss over every validation token (tokens
    # weighed alike); the --ngram comparison's window perplexity weighs windows alike.
    metrics = {f"validation_{k}": v for k, v in trainer.evaluate(data.validation).items()}
    if not n:
        return metrics
    from kerasnotes.models.ngram import compare_with_ngram

    comparison = compare_with_ngram(model, data.train_ids, data.validation_ids,
                                    len(data.vocabulary), n, config.num_steps,
                                    name=config.cell.upper(), seed=config.seed)
    metrics[f"validation_perplexity_{n}gram_baseline"] = comparison.ngram_perplexity
    print(f"\n{comparison.describe()}")
    metrics[f"rnn_vs_{n}gram_p_value"] = comparison.test.p_value
    return metrics


def build_server(config, data, model):
    """The greedy text generator of the trained model (None for a bidirectional one)."""
    if config.bidirectional:
        print("\nNo text generated and no export: a bidirectional model cannot generate "
              "text, it reads the tokens to the right, which do not exist yet when "
              "generating left to right.")
        return None
    from kerasnotes.serving.text_generator import TextGeneratorServer, serving_copy

    copy = serving_copy(model)
    print("\nGenerated text:")
    for prefix, text in text_samples(config).samples(copy).items():
        print(f"  {prefix!r} -> {text!r}")
    server = TextGeneratorServer(copy)
    return server, {"serving_default": server.serve}


APP = App(task="language_model", config_class=LanguageModelConfig, doc=__doc__,
          add_flags=add_flags, finish_config=finish_config, run_name=run_name,
          build_data=build_data, build_model=build_model, loss_and_metrics=loss_and_metrics,
          callbacks=callbacks, trainer_options=lambda config: {"clip_global_norm": config.clip},
          evaluate=evaluate, build_server=build_server)

main = APP.main
cli = APP.cli

if __name__ == "__main__":
    APP.cli()
