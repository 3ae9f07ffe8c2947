"""Character-level language model: train an RNN/GRU/LSTM of the notes, generate text, export it.

    python -m apps.language_model                        # GRU on the embedded docstrings
    python -m apps.language_model --cell lstm --layers 2 --sampling random
    python -m apps.language_model --text ../shared/data/lyrics/jaychou_lyrics.txt
    python -m apps.language_model --bidirectional --sampling random   # trains, cannot generate

Text: the Python standard library's docstrings (no network), or --text PATH (any UTF-8 file);
its last --validation-fraction is held out. --sampling sequential carries the hidden state
across batches (reset every epoch); random serves windows in random order from a zero state.

Outputs: runs/language_model/<cell><layers>[-bi]-<sampling>/ (config.json, vocabulary.json,
TensorBoard, checkpoints; rerunning resumes) and saved_models/language_model/<version>/
(serving_default: `prefix`, `length` -> `text`, `generated`, `unknown_tokens`; not bidirectional).
"""

import dataclasses
import functools
import os

from apps import flags
from apps.flags import flag, positive_int
from apps.runner import Run, run_cli
from kerasnotes.utils import memory_budget

MAX_GENERATE_LENGTH = 10_000  # tokens per prefix after every epoch and at the end
MAX_NGRAM = 10  # longer contexts than n - 1 tokens are nearly all seen once


@dataclasses.dataclass
class LanguageModelConfig(flags.RunConfig):
    task: str = "language_model"
    text: str = flag(None, "UTF-8 text file (default: the embedded docstrings)", metavar="PATH")
    max_chars: int = flag(200_000, "docstrings' length", type=positive_int)
    token_level: str = flag("char", "characters or whitespace-separated words",
                            choices=("char", "word"))
    min_freq: int = flag(1, "rarer tokens become <unk>", type=positive_int)
    validation_fraction: float = flag(0.1, "held out", type=flags.fraction)
    sampling: str = flag("sequential", "minibatch sampling", choices=("sequential", "random"))
    num_steps: int = flag(35, "time steps per window", type=positive_int)
    cell: str = flag("gru", "recurrent cell", choices=("rnn", "gru", "lstm"))
    layers: int = flag(1, "stacked recurrent layers", type=positive_int)
    units: int = flag(256, "per layer and direction", type=positive_int)
    bidirectional: bool = flag(False, "forward + backward layers: cannot generate, no export")
    implementation: str = flag("fused", "the notes' cells from scratch, or the equal, faster "
                               "Keras layers", choices=("scratch", "fused"))
    embedding_dim: int = flag(0, "0: the notes' one-hot inputs; N: a learned embedding of size N",
                              type=flags.non_negative_int)
    optimizer: str = flag("adam", "optimizer", choices=("adam", "sgd"))
    clip: float = flag(1.0, "clip gradients to the global norm theta, the notes' g <- min(theta / "
                       "||g||, 1) g", type=flags.positive_float)
    ngram: int = flag(3, "compare with a count-based n-gram model of this order, a paired test "
                      "(0: off)", type=flags.int_at_least(0, MAX_NGRAM))
    prefixes: str = flag("The |Return ", "'|'-separated prefixes to continue after each epoch and "
                         "at the end (default %(default)r)")
    generate_length: int = flag(60, "tokens generated per prefix",
                                type=flags.int_at_least(1, MAX_GENERATE_LENGTH))
    temperature: float = flag(0.0, "0: greedy; T > 0: sample from softmax(logits / T)",
                              type=flags.non_negative_float)
    epochs: int = 3  # the held-out perplexity is lowest after ~3 epochs (then it overfits)
    batch_size: int = 32
    lr: float = 0.005
    precision: str = "float32"
    export_dir: str = None
    log_every_n_steps: int = 20


def run_name(config):
    return f"{config.cell}{config.layers}{'-bi' if config.bidirectional else ''}-{config.sampling}"


def parse_args(argv=None):
    config = flags.parse(LanguageModelConfig, __doc__, argv, run_name)
    if config.bidirectional and config.sampling == "sequential":
        raise ValueError("--bidirectional needs --sampling random: sequential sampling carries "
                         "the hidden state left to right, which a backward layer cannot use")
    # Refused before the text is read (a lower bound: inputs and outputs of 1 and 2 tokens).
    needed = memory_budget.recurrent_memory(
        config.cell, config.units, config.layers, config.bidirectional,
        inputs=config.embedding_dim or 1, positions=config.batch_size * config.num_steps)
    memory_budget.check_memory(
        f"--cell {config.cell} --units {config.units} --layers {config.layers} --embedding-dim "
        f"{config.embedding_dim} --num-steps {config.num_steps} --batch-size {config.batch_size}",
        needed, "lower --units, --layers, --embedding-dim, --num-steps or --batch-size")
    return config


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
        train = functools.partial(data.train_dataset, config.batch_size, config.num_steps,
                                  config.sampling, config.seed)
        train(0)  # a corpus too short for one batch fails now, with a clear message
        print(f"Data: {data.describe()}; {config.sampling} sampling, {config.num_steps} steps")
        validation = data.validation_dataset(config.batch_size, config.num_steps)
        with run.strategy.scope():
            model = build_model(config, data.vocabulary)
            optimizer = {"adam": keras.optimizers.Adam,
                         "sgd": keras.optimizers.SGD}[config.optimizer](config.lr)
        chief = is_chief(run.strategy)  # continuations of the --prefixes, each epoch:
        samples = GeneratedTextSummary([p for p in config.prefixes.split("|") if p],
                                       config.generate_length, config.temperature,
                                       config.seed, enabled=chief)
        callbacks = [ResetStatesEachEpoch(), samples] if model.stateful else [samples]
        trainer = run.trainer(model, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                              optimizer, [Perplexity()], callbacks, clip_global_norm=config.clip)
        if chief:  # the run folder is open now
            data.vocabulary.save(os.path.join(run.run_dir, "vocabulary.json"))
        trainer.fit(train, epochs=config.epochs, validation_data=validation)

        # validation_perplexity: exp of the mean loss over every validation token; the
        # --ngram comparison's window perplexity weighs windows alike.
        results = {f"validation_{k}": v for k, v in trainer.evaluate(validation).items()}
        if config.ngram:
            comparison = compare_with_ngram(model, data.train_ids, data.validation_ids,
                                            len(data.vocabulary), config.ngram, config.num_steps,
                                            name=config.cell.upper(), seed=config.seed)
            results |= comparison.metrics()
            print(f"\n{comparison.describe()}")
        export_path = None
        if config.bidirectional:
            print("\nNo text generated and no export: a bidirectional model cannot generate "
                  "text, it reads the tokens to the right, which do not exist yet.")
        else:
            copy = serving_copy(model)
            lines = [f"{prefix!r} -> {text!r}" for prefix, text in samples.samples(copy).items()]
            print("\nGenerated text:", *lines, sep="\n  ")
            export_path = run.export(TextGeneratorServer(copy))
        run.report(results, export_path, data.corpus.name)
    return results, export_path


if __name__ == "__main__":
    run_cli("language_model", main, parse_args)
