"""Character-level language model: train an RNN/GRU/LSTM of the notes, generate text, export it.

    python -m apps.language_model                        # GRU on the embedded docstrings
    python -m apps.language_model --cell lstm --layers 2 --sampling random
    python -m apps.language_model --text ../shared/data/lyrics/jaychou_lyrics.txt
    python -m apps.language_model --bidirectional --sampling random   # trains, cannot generate
    tensorboard --logdir runs/language_model

Text: by default real English text gathered deterministically from the Python standard
library's docstrings (no network, no file; see --max-chars), or --text PATH, any UTF-8 text
file (e.g. Chinese lyrics). The last --validation-fraction of the tokens is held out to
measure perplexity. Sampling: "sequential" lays the corpus into --batch-size rows and carries
the hidden state from one batch to the next (reset every epoch); "random" serves windows in
a random order, every batch from a zero state. Gradients are clipped to the global norm
--clip (the notes' g <- min(theta/||g||, 1) g). --ngram N compares the network with a
count-based N-gram model on the same validation windows (a paired test, p < 0.05).

Outputs: runs/language_model/<cell><layers>[-bi]-<sampling>/ (config.json, vocabulary.json,
TensorBoard events with perplexity and generated samples per epoch, checkpoints; rerunning
the same command resumes) and saved_models/language_model/<version>/ (SavedModel whose
serving_default takes a `prefix` string and a `length` int32 and returns the generated
`text`, the `generated` continuation and the number of `unknown_tokens` in the prefix; the
vocabulary is inside). A bidirectional model cannot generate text left to right: it is
trained and evaluated, not exported.
"""

import argparse
import dataclasses
import os

from apps import flags, memory_check
from apps.runner import Run, run_cli


@dataclasses.dataclass
class LanguageModelConfig(flags.RunConfig):
    task: str = "language_model"
    text: str = None  # None: the embedded docstrings
    max_chars: int = 200_000
    token_level: str = "char"
    min_freq: int = 1
    validation_fraction: float = 0.1
    sampling: str = "sequential"
    num_steps: int = 35
    cell: str = "gru"
    layers: int = 1
    units: int = 256
    bidirectional: bool = False
    implementation: str = "fused"
    embedding_dim: int = 0
    optimizer: str = "adam"
    clip: float = 1.0
    ngram: int = 3
    prefixes: str = "The |Return "
    generate_length: int = 60
    temperature: float = 0.0
    epochs: int = 3  # the held-out perplexity is lowest after ~3 epochs (then it overfits)
    batch_size: int = 32
    lr: float = 0.005
    precision: str = "float32"
    export_dir: str = None
    log_every_n_steps: int = 20


MAX_GENERATE_LENGTH = 10_000  # tokens per prefix after every epoch and at the end
# The n-gram keeps a context of n - 1 tokens per position, and longer contexts are nearly
# all seen once.
MAX_NGRAM = 10
CELL_GATES = {"rnn": 1, "gru": 3, "lstm": 4}  # values per step kept for the gradient


def run_name(config):
    return f"{config.cell}{config.layers}{'-bi' if config.bidirectional else ''}-{config.sampling}"


def parse_args(argv=None):
    defaults = LanguageModelConfig()
    parser = flags.make_parser(defaults, __doc__,
                               default_logdir=f"runs/language_model/{run_name(defaults)}")
    text = parser.add_argument_group("text flags").add_argument
    text("--text", metavar="PATH",
         help="UTF-8 text file to train on (default: the embedded Python docstrings)")
    text("--max-chars", type=flags.positive_int, default=defaults.max_chars,
         help="length of the embedded docstring corpus (default %(default)s)")
    text("--token-level", choices=["char", "word"], default=defaults.token_level,
         help="tokens are characters or whitespace-separated words (default %(default)s)")
    text("--min-freq", type=flags.positive_int, default=defaults.min_freq,
         help="tokens seen fewer times become <unk> (default %(default)s)")
    text("--validation-fraction", type=flags.fraction, default=defaults.validation_fraction,
         help="held-out tail of the corpus for perplexity, in (0, 1) (default %(default)s)")
    text("--sampling", choices=["sequential", "random"], default=defaults.sampling,
         help="minibatch sampling, see above (default %(default)s)")
    text("--num-steps", type=flags.positive_int, default=defaults.num_steps,
         help="time steps per training window (default %(default)s)")
    model = parser.add_argument_group("model flags").add_argument
    model("--cell", choices=list(CELL_GATES), default=defaults.cell,
          help="recurrent cell (default %(default)s)")
    model("--layers", type=flags.positive_int, default=defaults.layers,
          help="stacked recurrent layers, the notes' deep RNN (default %(default)s)")
    model("--units", type=flags.positive_int, default=defaults.units,
          help="hidden units per layer and direction (default %(default)s)")
    model("--bidirectional", action=argparse.BooleanOptionalAction, default=False,
          help="forward + backward layers (needs --sampling random; sees the future, so it "
               "cannot generate and is not exported)")
    model("--implementation", choices=["scratch", "fused"], default=defaults.implementation,
          help="the notes' cells from scratch, or the equal, faster Keras layers (default "
               "%(default)s)")
    model("--embedding-dim", type=flags.non_negative_int, default=defaults.embedding_dim,
          help="0: the notes' one-hot inputs; N: a learned embedding of size N (default 0)")
    train = parser.add_argument_group("training and generation flags").add_argument
    train("--optimizer", choices=["adam", "sgd"], default=defaults.optimizer,
          help="Adam or plain minibatch SGD (default %(default)s)")
    train("--clip", type=flags.positive_float, default=defaults.clip,
          help="clip gradients to this global norm theta (default %(default)s)")
    train("--ngram", type=flags.int_at_most(MAX_NGRAM, minimum=0), default=defaults.ngram,
          help="also report the perplexity of a count-based n-gram model of this order, and "
               f"a paired comparison (0: off; at most {MAX_NGRAM}; default %(default)s)")
    train("--prefixes", default=defaults.prefixes, help="'|'-separated prefixes to continue "
          "after each epoch and at the end (default %(default)r)")
    train("--generate-length", type=flags.int_at_most(MAX_GENERATE_LENGTH),
          default=defaults.generate_length, help="tokens generated per prefix, at most "
          f"{MAX_GENERATE_LENGTH} (default %(default)s)")
    train("--temperature", type=flags.non_negative_float, default=defaults.temperature,
          help="0: greedy; > 0: sample from softmax(logits / T) (default %(default)s)")
    config = flags.to_config(LanguageModelConfig, parser.parse_args(argv))
    if config.bidirectional and config.sampling == "sequential":
        parser.error("--bidirectional needs --sampling random: sequential sampling carries "
                     "the hidden state left to right, which a backward layer cannot use")
    check_memory(config)
    return config


def check_memory(config):
    """Refuses (`ValueError`) a training step that cannot fit in memory, before the text is
    read: recurrent weights (16 bytes each: value, gradient, two optimizer slots; input and
    output layers of at least 1 and 2 tokens) and float32 gates of one batch. A lower bound."""
    gates, units = CELL_GATES[config.cell], config.units
    directions = 2 if config.bidirectional else 1
    inputs, weights = config.embedding_dim or 1, 0
    for _ in range(config.layers):
        weights += directions * gates * (inputs + units + 1) * units
        inputs = directions * units
    values = config.batch_size * config.num_steps * config.layers * directions * units
    memory_check.check_memory(
        f"--cell {config.cell} --units {units} --layers {config.layers} --embedding-dim "
        f"{config.embedding_dim} --num-steps {config.num_steps} --batch-size "
        f"{config.batch_size}", 16 * (weights + inputs * 2) + 4 * values * (gates + 1),
        "lower --units, --layers, --embedding-dim, --num-steps or --batch-size")


def build_model(config, vocabulary):
    from kerasnotes.models.rnn_language_model import RNNLanguageModel

    model = RNNLanguageModel(
        vocabulary, cell=config.cell, units=config.units, num_layers=config.layers,
        bidirectional=config.bidirectional, implementation=config.implementation,
        embedding_dim=config.embedding_dim or None, stateful=config.sampling == "sequential")
    model.build((None, None))
    return model


def main(config):
    """Trains, evaluates and exports as `config` says; returns `(metrics, export_path)`."""
    import keras

    from kerasnotes.data.text.language_model_data import load_language_model_data
    from kerasnotes.metrics.perplexity import Perplexity
    from kerasnotes.models.ngram import compare_with_ngram
    from kerasnotes.serving.text_generator import TextGeneratorServer, serving_copy
    from kerasnotes.training.callbacks.generated_text import GeneratedTextSummary
    from kerasnotes.training.callbacks.reset_states import ResetStatesEachEpoch
    from kerasnotes.training.strategy import is_chief

    with Run(config, run_name(config)) as run:
        data = load_language_model_data(config.text, config.max_chars, config.token_level,
                                        config.min_freq, config.validation_fraction,
                                        config.num_steps)

        def train(epoch):  # sequential sampling: the carried state is reset each epoch
            return data.train_dataset(config.batch_size, config.num_steps, config.sampling,
                                      config.seed, epoch)

        train(0)  # a corpus too short for one batch fails now, with a clear message
        print(f"Data: {data.corpus.name} (sha256 {data.corpus.fingerprint}): "
              f"{len(data.train_ids)} training and {len(data.validation_ids)} validation "
              f"{config.token_level} tokens, vocabulary of {len(data.vocabulary)}; "
              f"{config.sampling} sampling, {config.num_steps} steps")
        validation = data.validation_dataset(config.batch_size, config.num_steps)
        with run.strategy.scope():
            model = build_model(config, data.vocabulary)
            optimizer = {"adam": keras.optimizers.Adam,
                         "sgd": keras.optimizers.SGD}[config.optimizer](config.lr)
        chief = is_chief(run.strategy)  # continuations of the --prefixes, each epoch:
        samples = GeneratedTextSummary([p for p in config.prefixes.split("|") if p],
                                       config.generate_length, config.temperature,
                                       config.seed, enabled=chief)
        trainer = run.trainer(
            model, keras.losses.SparseCategoricalCrossentropy(from_logits=True), optimizer,
            [Perplexity()], callbacks=[ResetStatesEachEpoch(), samples] if model.stateful
            else [samples], clip_global_norm=config.clip)
        if chief:  # the run folder is open now
            data.vocabulary.save(os.path.join(run.run_dir, "vocabulary.json"))
        trainer.fit(train, epochs=config.epochs, validation_data=validation)

        # validation_perplexity: exp of the mean loss over every validation token; the
        # --ngram comparison's window perplexity weighs windows alike.
        results = {f"validation_{k}": v for k, v in trainer.evaluate(validation).items()}
        if config.ngram:
            n = config.ngram
            comparison = compare_with_ngram(model, data.train_ids, data.validation_ids,
                                            len(data.vocabulary), n, config.num_steps,
                                            name=config.cell.upper(), seed=config.seed)
            results[f"validation_perplexity_{n}gram_baseline"] = comparison.ngram_perplexity
            print(f"\n{comparison.describe()}")
            results[f"rnn_vs_{n}gram_p_value"] = comparison.test.p_value
        export_path = None
        if config.bidirectional:
            print("\nNo text generated and no export: a bidirectional model cannot generate "
                  "text, it reads the tokens to the right, which do not exist yet when "
                  "generating left to right.")
        else:
            copy = serving_copy(model)
            print("\nGenerated text:")
            for prefix, text in samples.samples(copy).items():
                print(f"  {prefix!r} -> {text!r}")
            server = TextGeneratorServer(copy)
            export_path = run.export(server, {"serving_default": server.serve})
        run.report(results, export_path, data.corpus.name)
    return results, export_path


def cli(argv=None):
    run_cli("language_model", main, parse_args, argv)


if __name__ == "__main__":
    cli()
