"""The training loop of the fused word2vec path: epochs of steps, checkpoints, TensorBoard.

`kerasnotes.training.Trainer` trains Keras models on batches; `FusedWord2Vec` trains by
itself, one step being one kernel call (or one TF step) over a range of whole sentences.
This loop runs those steps over epochs with what the Trainer gives the other apps.
`NearestWords` shows what the vectors learn, under either loop; `TrainedWordsPerSecond`
gives the Keras path the words/s that the fused loop measures itself.
"""

import math
import time

import keras
import numpy as np
import tensorflow as tf

from kerasnotes.data.text.word2vec_dataset import subsampled_centers
from kerasnotes.data.text.word2vec_examples import sentence_splits
from kerasnotes.models.word2vec_fused import linear_lr
from kerasnotes.ops.embedding_queries import most_similar
from kerasnotes.training.checkpoints import NonFiniteLossError, RunCheckpoint
from kerasnotes.training.summaries import SummaryWriters


def nearest_words_lines(vectors, vocabulary, words, k):
    """`"word: w1 (0.83), w2 (0.80), ..."`: the `k` nearest words by cosine similarity.

    Example:

    >>> nearest_words_lines(model.word_vectors.numpy(), vocabulary, ["chip"], 3)
    ['chip: intel (0.61), microprocessor (0.58), chips (0.55)']
    """
    lines = []
    for word in words:
        found = most_similar(vectors, vocabulary, word, k=k, exclude=(vocabulary.unknown_token,))
        lines.append(f"{word}: " + ", ".join(f"{w} ({s:.2f})" for w, s in found))
    return lines


class NearestWords(keras.callbacks.Callback):
    """After every epoch: the probe words' nearest words, printed (`verbose`) and written as
    the TensorBoard text `nearest_words` (to the default writer: the validation run).

    The model is anything with `word_vectors` (`SkipGram`, `CBOW`, `FusedWord2Vec`).

    Example:

    >>> trainer = Trainer(model, loss, optimizer, callbacks=[NearestWords(vocabulary,
    ...                                                                   ["chip"], 5)])
    """

    def __init__(self, vocabulary, words, k=5, verbose=True):
        super().__init__()
        self.vocabulary, self.words, self.k, self.verbose = vocabulary, words, k, verbose

    def on_epoch_end(self, epoch, logs=None):
        lines = nearest_words_lines(self.model.word_vectors.numpy(), self.vocabulary,
                                    self.words, self.k)
        if self.verbose:
            print(f"Nearest words after epoch {epoch + 1}:")
            print("\n".join(f"  {line}" for line in lines), flush=True)
        tf.summary.text("nearest_words", "\n\n".join(lines), step=epoch)



class TrainedWordsPerSecond(keras.callbacks.Callback):
    """The Keras models' training speed in words after subsampling (centers) per second.

    After `fit`, `metrics` holds `train_loss` (the last epoch's) and `words_per_second`:
    the centers of the epochs trained (`subsampled_centers` of each, as the pipeline draws
    them) over the time `fit` took. Both are missing when no epoch was left to train.

    Example:

    >>> speed = TrainedWordsPerSecond(corpus, subsample_t=1e-4, seed=0)
    >>> trainer = Trainer(model, loss, optimizer, callbacks=[speed])
    >>> trainer.fit(train_data, epochs=5); speed.metrics["words_per_second"]
    """

    def __init__(self, corpus, subsample_t=1e-4, seed=0):
        super().__init__()
        self.corpus, self.subsample_t, self.seed = corpus, subsample_t, seed
        self.metrics, self.epochs, self.start = {}, [], None

    def on_train_begin(self, logs=None):
        self.metrics, self.epochs, self.start = {}, [], time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)
        self.metrics["train_loss"] = float(logs["loss"])

    def on_train_end(self, logs=None):
        seconds, corpus = time.perf_counter() - self.start, self.corpus
        words = sum(int(subsampled_centers(corpus.token_ids, corpus.sentence_ids, corpus.counts,
                                           self.subsample_t, self.seed, epoch,
                                           shuffle=False)[2].shape[0]) for epoch in self.epochs)
        if words:
            self.metrics["words_per_second"] = words / max(seconds, 1e-9)


class FusedTrainer:
    """Trains a `FusedWord2Vec` for `epochs` epochs, resuming from the run's checkpoints.

    Epoch `e` trains the sentences in order, in the steps of `model.step_bounds` (about
    `model.step_words` raw words each); with `N` the corpus' raw words and `E` the epochs,
    the rate decays linearly over the run as word2vec's does: a word at offset `o` of epoch
    `e` trains at `linear_lr(lr, min_lr, e N + o, E N)`.

    - Checkpoints (`RunCheckpoint`, `run_dir/checkpoints`, finite tables only): both tables,
      the epochs done, the epoch's next sentence, the global step and the epoch's running
      sums; after every epoch and, with `checkpoint_every_n_steps=n`, after every `n`-th
      step. The steps draw their randomness from the sentences they train (see
      `FusedWord2Vec.train_step`), so a resumed run continues as the uninterrupted one
      (bit for bit on one kernel thread).
    - TensorBoard (`SummaryWriters`): `train/` `epoch_loss` (mean loss per target),
      `epoch_words_per_second` (words kept after subsampling), `learning_rate` at
      `step=epoch`; `batch_loss`, `batch_learning_rate` every `log_every_n_steps` steps
      (from the first) at `step=global step`.
    - Keras callbacks, as the Trainer calls them (`callback.model` is the
      `FusedWord2Vec`): `on_epoch_begin(epoch)`, `on_train_batch_end(global_step,
      {"loss": ...})`, `on_epoch_end(epoch, logs)` with the validation writer as default.

    A non-finite loss raises `NonFiniteLossError` (nothing is saved after it).

    Example:

    >>> model = FusedWord2Vec(corpus.counts, 100)
    >>> trainer = FusedTrainer(model, run_dir="runs/word2vec/skipgram-negative")
    >>> metrics = trainer.fit(corpus.token_ids, corpus.sentence_ids, epochs=5, lr=0.1,
    ...                       min_lr=1e-4)   # {"train_loss": ..., "words_per_second": ...}
    """

    def __init__(self, model, run_dir=None, callbacks=(), log_every_n_steps=50,
                 checkpoint_every_n_steps=None, max_checkpoints=2, verbose=1):
        self.model = model
        self.log_every_n_steps = int(log_every_n_steps)
        self.checkpoint_every_n_steps = checkpoint_every_n_steps
        self.verbose = verbose
        self.callbacks = keras.callbacks.CallbackList(list(callbacks), model=model)
        self.epoch = tf.Variable(0, dtype=tf.int64, name="epochs_done")
        self.sentence = tf.Variable(0, dtype=tf.int64, name="next_sentence")
        self.global_step = tf.Variable(0, dtype=tf.int64, name="global_step")
        # The epoch so far: loss summed over targets, targets, words kept.
        self.sums = tf.Variable(np.zeros(3), dtype=tf.float64, name="epoch_sums")
        self.checkpoint = RunCheckpoint(
            run_dir, tf.distribute.get_strategy(), max_to_keep=max_checkpoints,
            input_vectors=model.input_vectors, output_vectors=model.output_vectors,
            epochs_done=self.epoch, next_sentence=self.sentence, global_step=self.global_step,
            epoch_sums=self.sums)
        self.writers = SummaryWriters(run_dir)

    def restore(self, epochs, sentences):
        """Restores the newest checkpoint, if any; returns `(epoch, next sentence)`."""
        latest = self.checkpoint.restore()
        done, sentence = int(self.epoch.numpy()), int(self.sentence.numpy())
        if latest and self.verbose:
            within = (f"; epoch {done + 1} continues at sentence {sentence} of {sentences}"
                      if sentence else "")
            print(f"Resuming from {latest} ({done} of {epochs} epochs done{within})")
        if done >= epochs and self.verbose:
            print(f"Already trained for {done} epochs (asked for {epochs}); nothing to do.")
        return done, sentence

    def save(self, where):
        # Their values: RunCheckpoint's finiteness check reads Keras variables' `.value`.
        tables = [self.model.input_vectors.read_value(), self.model.output_vectors.read_value()]
        return self.checkpoint.save(int(self.global_step.numpy()), tables, where)

    def fit(self, token_ids, sentence_ids, epochs, lr, min_lr):
        """Trains the epochs left of `epochs`; returns `{"train_loss", "words_per_second"}`
        of this call (empty when nothing was left to train). With `verbose`, it first says
        which path trains (and why the C++ kernel is not used, when it is not)."""
        if self.verbose:
            if self.model.kernel_unavailable:
                print(f"notice: the C++ word2vec kernel is unavailable "
                      f"({self.model.kernel_unavailable}); training with the fused TF ops path")
            print(f"Training path: {self.model.describe()}")
        tokens = tf.constant(np.asarray(token_ids, np.int32))
        splits = sentence_splits(sentence_ids)
        words, sentences = int(splits[-1]), splits.size - 1
        start_epoch, start_sentence = self.restore(epochs, sentences)
        metrics, kept_here, seconds = {}, 0, 0.0
        self.callbacks.on_train_begin()
        for epoch in range(start_epoch, epochs):
            self.callbacks.on_epoch_begin(epoch)
            bounds = self.model.step_bounds(splits)
            if epoch == start_epoch and start_sentence:  # resumed inside the epoch
                bounds = np.r_[start_sentence, bounds[bounds > start_sentence]]
            start, kept_before = time.perf_counter(), self.sums[2].numpy()
            for first, last in zip(bounds[:-1], bounds[1:]):
                stats = self.model.train_step(tokens, splits, first, last, epoch, lr, min_lr,
                                              epoch * words, epochs * words)
                self._after_step(epoch, first, last, sentences, stats)
            elapsed = time.perf_counter() - start
            loss_sum, targets, kept = self.sums.numpy()
            loss = loss_sum / max(targets, 1.0)
            rate = (kept - kept_before) / max(elapsed, 1e-9)
            end_lr = linear_lr(lr, min_lr, (epoch + 1) * words, epochs * words)
            self.writers.scalars("train", {"loss": loss, "words_per_second": rate},
                                 step=epoch, prefix="epoch_")
            self.writers.scalars("train", {"learning_rate": end_lr}, step=epoch)
            if self.verbose:
                print(f"Epoch {epoch + 1}/{epochs}: loss {loss:.4f}, {int(kept)} words (after "
                      f"subsampling) in {elapsed:.2f} s = {rate:,.0f} words/s, lr "
                      f"{end_lr:.5f}", flush=True)
            logs = {"loss": loss, "words_per_second": rate}
            with self.writers["validation"].as_default():
                for callback in self.callbacks.callbacks:
                    callback.on_epoch_end(epoch, logs)
            self.writers.flush()
            self.epoch.assign(epoch + 1)
            self.sentence.assign(0)
            self.sums.assign(np.zeros(3))
            self.save(f"the end of epoch {epoch + 1}")
            metrics["train_loss"] = loss
            kept_here, seconds = kept_here + kept - kept_before, seconds + elapsed
        self.callbacks.on_train_end()
        self.writers.flush()
        if kept_here:
            metrics["words_per_second"] = kept_here / max(seconds, 1e-9)
        return metrics

    def _after_step(self, epoch, first, last, sentences, stats):
        step = int(self.global_step.numpy()) + 1
        loss = stats["loss_sum"] / max(stats["targets"], 1)
        if not math.isfinite(loss):
            raise NonFiniteLossError(
                f"the training loss became {loss} at epoch {epoch + 1}, step {step} "
                f"(sentences {first}..{last - 1}); nothing was saved. The last good "
                f"checkpoint is {self.checkpoint.latest or 'none (no checkpoint yet)'}. "
                "Lower the learning rate, then rerun (the run resumes from it).")
        self.global_step.assign(step)
        self.sentence.assign(int(last))
        self.sums.assign_add([stats["loss_sum"], stats["targets"], stats["kept_words"]])
        if (step - 1) % self.log_every_n_steps == 0 and stats["targets"]:
            self.writers.scalars("train", {"batch_loss": loss,
                                           "batch_learning_rate": stats["lr"]}, step=step)
        self.callbacks.on_train_batch_end(step, {"loss": loss})
        every = self.checkpoint_every_n_steps
        if every and step % every == 0 and last < sentences:  # the epoch's end saves anyway
            self.save(f"epoch {epoch + 1}, step {step} (sentence {last} of {sentences})")
