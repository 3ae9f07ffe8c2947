"""Validation perplexity after N epochs: n-gram baselines vs RNN/GRU/LSTM, scratch vs fused.

For each corpus (the embedded Python docstrings; the lyrics corpus of the notes' source
book when ../shared/data/lyrics/jaychou_lyrics.txt exists, read in place), the last 10% of
the characters is held out. Count-based n-gram models (add-k, k=0.1) and recurrent models
(apps.language_model's data, model and Trainer: one-hot inputs, sequential sampling with
the carried state, Adam, clipping to global norm 1) are scored by the perplexity of the
held-out text. Scratch and fused compute the same formulas but draw their initial weights
in different layouts (per-gate matrices vs concatenated kernels), so their curves differ a
little even with the same seed.

    python -m benchmarks.language_model_perplexity                  # all cells, both paths
    python -m benchmarks.language_model_perplexity --epochs 5 --units 128 --cells gru \
        --implementations fused --max-chars 100000
    python -m benchmarks.language_model_perplexity --epochs 1 --units 8 --max-chars 3000 \
        --cells gru --implementations fused --ngrams 2 --lyrics ''           # smoke run
"""

import argparse
import os
import pathlib
import time

import keras

from apps import language_model
from benchmarks import harness
from kerasnotes.data.text.language_model_data import load_language_model_data
from kerasnotes.metrics.perplexity import Perplexity
from kerasnotes.models.ngram import NGramLanguageModel
from kerasnotes.training.callbacks.reset_states import ResetStatesEachEpoch
from kerasnotes.training.trainer import Trainer

LYRICS = pathlib.Path(__file__).resolve().parents[2] / "shared/data/lyrics/jaychou_lyrics.txt"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_int_flags(parser, epochs=(5, "epochs per model"), units=(128, "hidden units"),
                          batch_size=(32, "batch size"), num_steps=(35, "time steps per window"))
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--max-chars", type=int, default=100_000,
                        help="length of the docstring corpus")
    parser.add_argument("--cells", default="rnn,gru,lstm")
    parser.add_argument("--implementations", default="scratch,fused")
    parser.add_argument("--ngrams", default="1,2,3,4,5")
    parser.add_argument("--lyrics", default=str(LYRICS), help="'' to skip the lyrics corpus")
    return parser.parse_args()


def main():
    args = parse_args()
    with harness.session("Validation perplexity: n-grams vs recurrent models"):
        run(args)


def run(args):
    corpora = [("docstrings", [])]
    if args.lyrics and os.path.exists(args.lyrics):
        corpora.append(("lyrics", ["--text", args.lyrics]))
    for _, corpus_flags in corpora:
        common = ["--max-chars", str(args.max_chars), "--batch-size", str(args.batch_size),
                  "--num-steps", str(args.num_steps), "--units", str(args.units),
                  "--lr", str(args.lr), "--epochs", str(args.epochs), *corpus_flags]
        config = language_model.parse_args(common)
        data = load_language_model_data(config.text, config.max_chars, config.token_level,
                                        config.min_freq, config.validation_fraction,
                                        config.num_steps)
        train_ids, valid_ids = data.train_ids, data.validation_ids
        print(f"\n{data.corpus.name}: {len(train_ids)} training / {len(valid_ids)} validation "
              f"characters, vocabulary {len(data.vocabulary)}")
        for n in [int(n) for n in args.ngrams.split(",") if n]:
            model = NGramLanguageModel(n=n, k=0.1).fit(train_ids, len(data.vocabulary))
            print(f"  {n}-gram (add-0.1)          validation perplexity "
                  f"{model.perplexity(valid_ids):8.2f}")
        for cell in args.cells.split(","):
            for implementation in args.implementations.split(","):
                config = language_model.parse_args(
                    [*common, "--cell", cell, "--implementation", implementation])
                keras.utils.set_random_seed(0)
                model = language_model.build_model(config, data.vocabulary)
                optimizer = keras.optimizers.Adam(config.lr)
                trainer = Trainer(model,
                                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                                  optimizer, [Perplexity()], clip_global_norm=1.0, verbose=0,
                                  callbacks=[ResetStatesEachEpoch()])
                start = time.perf_counter()
                history = trainer.fit(  # sequential sampling: the same windows every epoch
                    data.train_dataset(config.batch_size, config.num_steps), epochs=args.epochs,
                    validation_data=data.validation_dataset(config.batch_size, config.num_steps))
                seconds = time.perf_counter() - start
                curve = " ".join(f"{p:.2f}" for p in history["val_perplexity"])
                print(f"  {cell:4s} {implementation:7s} x{args.epochs} epochs  validation "
                      f"perplexity {history['val_perplexity'][-1]:8.2f}  (per epoch: {curve}; "
                      f"train {history['perplexity'][-1]:.2f}; {seconds:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
