"""word2vec's fused training path: SGD on unpadded examples, by a C++ kernel or by TF ops.

The Keras models (`SkipGram`, `CBOW`) are the notes' readable version: padded batches,
autodiff, an optimizer. This path trains the same losses the way word2vec.c and gensim do:

- unpadded examples (`kerasnotes.data.text.word2vec_examples`): one SGD step per example,
  the notes' loss of one center (skip-gram) or one window (CBOW);
- the gradient written out from the notes' formulas, with `h` the example's hidden vector
  (skip-gram: `v_c`; CBOW: `v_bar_o = (v_o1 + ... + v_om) / m`) and targets `u_t`:

      loss = sum_t softplus(z_t),  z_t = -u_t^T h if l_t = 1 else u_t^T h
      g_t = sigmoid(u_t^T h) - l_t
      dloss/du_t = g_t h,     dloss/dv_o = (sum_t g_t u_t) / m   (each input word)

- plain SGD on the rows touched (sparse updates), the learning rate decaying linearly from
  `lr` to `min_lr` over the run's words, as word2vec.c and gensim do.

Two backends: `"kernel"`, the C++ op (`kerasnotes.ops.word2vec_kernel`: Hogwild SGD over
sentences on `threads` threads, sampling inside the kernel; by default one step per
skip-gram window, its context words sharing the center's noise words, see `batching`),
and `"tf"`, TF ops on batches of examples made in bulk with NumPy (a batch gradient: every
example of a step sees the same parameters). `"auto"` takes the kernel when it builds, else
the TF path with a one-line notice.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from kerasnotes.data.text.word2vec_examples import (
    LOSSES,
    MODELS,
    sampling_tables,
    sentence_examples,
    sentence_splits,
)

BACKENDS = ("auto", "kernel", "tf")
BATCHINGS = ("window", "word")
KERNEL_CALL_WORDS = 100_000  # raw words per kernel call (progress and loss per call)
TF_STEP_WORDS = 4_096  # raw words per TF step (about 9k skip-gram examples)


def example_losses_and_gradients(input_vectors, output_vectors, input_ids, input_splits,
                                 target_ids, target_labels, target_splits, weights):
    """Losses of flat examples and the gradients of `sum_e weights_e * loss_e` (TF ops).

    The formulas of the module docstring, evaluated for all examples at the same
    parameters; no autodiff. `weights` scales each example (1 for word2vec's SGD; `1 / (b
    n_valid)` reproduces the mean of the Keras models' masked loss).

    Returns:
        `(losses, input_gradient, output_gradient)`: float32 `(E,)` unweighted losses,
        and two `tf.IndexedSlices` of the rows of the two tables (duplicate rows summed
        when applied).

    Example:

    >>> losses, d_in, d_out = example_losses_and_gradients(
    ...     v, u, [1], [0, 1], [2, 3], [1.0, 0.0], [0, 2], [1.0])
    """
    input_ids = tf.convert_to_tensor(input_ids, tf.int32)
    target_ids = tf.convert_to_tensor(target_ids, tf.int32)
    labels = tf.convert_to_tensor(target_labels, tf.float32)
    input_splits = tf.convert_to_tensor(input_splits, tf.int64)
    target_splits = tf.convert_to_tensor(target_splits, tf.int64)
    weights = tf.convert_to_tensor(weights, tf.float32)
    examples = tf.shape(weights, out_type=tf.int64)[0]
    input_segments = tf.ragged.row_splits_to_segment_ids(input_splits)
    target_segments = tf.ragged.row_splits_to_segment_ids(target_splits)
    input_counts = tf.cast(input_splits[1:] - input_splits[:-1], tf.float32)[:, None]
    v = tf.gather(input_vectors, input_ids)
    h = tf.math.unsorted_segment_sum(v, input_segments, examples) / input_counts  # (E, d)
    u = tf.gather(output_vectors, target_ids)  # (T, d)
    h_t = tf.gather(h, target_segments)
    scores = tf.reduce_sum(u * h_t, axis=-1)
    z = tf.where(labels > 0.5, -scores, scores)
    losses = tf.math.unsorted_segment_sum(tf.nn.softplus(z), target_segments, examples)
    g = (tf.sigmoid(scores) - labels) * tf.gather(weights, target_segments)
    output_gradient = tf.IndexedSlices(g[:, None] * h_t, target_ids)
    grad_h = tf.math.unsorted_segment_sum(g[:, None] * u, target_segments, examples)
    input_gradient = tf.IndexedSlices(tf.gather(grad_h / input_counts, input_segments),
                                      input_ids)
    return losses, input_gradient, output_gradient


def _mean_over_duplicates(gradient):
    """Divides each row's gradient by how often its row occurs in the step."""
    _, position, occurrences = tf.unique_with_counts(gradient.indices)
    scale = 1.0 / tf.cast(tf.gather(occurrences, position), gradient.values.dtype)
    return tf.IndexedSlices(gradient.values * scale[:, None], gradient.indices)


@tf.function(reduce_retracing=True)
def tf_train_step(input_vectors, output_vectors, input_ids, input_splits, target_ids,
                  target_labels, target_splits, weights, lr, average_duplicates=False):
    """One SGD step of the TF path: `table -= lr * gradient` on the rows touched.

    With `average_duplicates`, a row met `m` times in the step moves by `lr` times the mean
    of its `m` gradients instead of their sum. word2vec's SGD applies one example at a
    time; a batched step of thousands of examples sums hundreds of gradients into the
    rows of frequent (noise) words, which diverges at word2vec's rates (PTB at lr 0.1:
    loss 3e14 after an epoch); the mean keeps every row's step at the size of one
    example's. Without it the step is the exact gradient step (the tests' comparisons).

    Returns the float32 `(E,)` losses before the step.
    """
    losses, input_gradient, output_gradient = example_losses_and_gradients(
        input_vectors, output_vectors, input_ids, input_splits, target_ids, target_labels,
        target_splits, weights)
    if average_duplicates:
        input_gradient = _mean_over_duplicates(input_gradient)
        output_gradient = _mean_over_duplicates(output_gradient)
    input_vectors.scatter_sub(tf.IndexedSlices(lr * input_gradient.values,
                                               input_gradient.indices))
    output_vectors.scatter_sub(tf.IndexedSlices(lr * output_gradient.values,
                                                output_gradient.indices))
    return losses


def linear_lr(lr, min_lr, words_done, total_words):
    """word2vec's linear decay: `lr - (lr - min_lr) * min(words_done / total_words, 1)`.

    Example:

    >>> linear_lr(0.1, 0.0, 25, 100)
    0.075
    """
    progress = min(float(words_done) / max(float(total_words), 1.0), 1.0)
    return lr - (lr - min_lr) * progress


class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """word2vec's learning rate: linear in the raw words trained (`linear_lr`), from
    `initial_learning_rate` to `final_learning_rate` over `decay_words` words, then constant.

    Its step is a count of raw words, not of steps: one kernel call trains ~100k words and
    decays the rate inside the call, word by word.

    Example:

    >>> LinearDecay(0.1, 0.0, decay_words=100)(25)
    0.075
    """

    def __init__(self, initial_learning_rate, final_learning_rate, decay_words):
        self.initial_learning_rate = float(initial_learning_rate)
        self.final_learning_rate = float(final_learning_rate)
        self.decay_words = int(decay_words)

    def __call__(self, step):
        return linear_lr(self.initial_learning_rate, self.final_learning_rate, step,
                         self.decay_words)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "final_learning_rate": self.final_learning_rate,
                "decay_words": self.decay_words}


def default_threads():
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def load_kernel_or_reason():
    """`(ops, None)` when the C++ kernel builds and loads, else `(None, reason)`."""
    from kerasnotes.ops.word2vec_kernel import KernelUnavailable, load_word2vec_kernel

    try:
        return load_word2vec_kernel(), None
    except KernelUnavailable as error:
        return None, str(error)


class FusedWord2Vec(keras.Model):
    """Skip-gram or CBOW, negative sampling or hierarchical softmax, on the fused path.

    A Keras model that trains itself: `train_step(data)` is one kernel call (or one TF
    step) over a range of whole sentences, the SGD update written out (no optimizer), so
    `kerasnotes.training.Trainer` trains it like any model, one kernel call being one step,
    with the usual callbacks (progress, TensorBoard, checkpoints and resumption, ...). Give
    it its corpus (`set_corpus`); `dataset(epoch)` yields the epoch's steps. It runs eagerly
    (`run_eagerly`): a step is one op call of ~100k words, and the TF path makes its
    examples with NumPy.

    Holds the two tables as Keras variables: `input_vectors` (`V, d`: the word vectors;
    skip-gram's center vectors `v`, CBOW's context vectors) initialized uniformly in
    `[-0.5/d, 0.5/d)` as word2vec does, and `output_vectors` (`V, d` context/center
    vectors, or `V - 1, d` inner-node vectors of the Huffman tree), zeros.

    Args:
        counts: `(V,)` word counts (subsampling, noise distribution, Huffman tree).
        embedding_dim: `d`.
        model: "skipgram" or "cbow".
        loss: "negative" or "hierarchical".
        window: maximum window size `n` (each center draws `1..n`).
        negatives: `K` noise words per example.
        subsample_t: subsampling `t` (None: no subsampling).
        backend: "auto", "kernel" or "tf" (see the module docstring).
        threads: kernel threads (default: the CPUs available).
        seed: seed of the initial vectors and of every epoch's sampling.
        step_words: raw words per step, one kernel call or TF step (default 100k for the
            kernel, 4096 for the TF path); steps end on sentence boundaries.
        batching: the kernel's skip-gram steps (default: "word" for skip-gram with
            hierarchical softmax, where window steps score below gensim's quality on
            WordSim/SimLex, else "window"): "window" (faster: one SGD step per
            center, its context words the inputs sharing the center's targets, one draw of
            noise words or one Huffman path, as word2vec.c orients skip-gram) or "word" (one
            step per (center, context) pair, the center the input, the context word the
            target, as the TF path and the Keras model do). CBOW is one step per window in
            both; "window" moves each context word by the whole gradient of the window's
            mean vector (word2vec.c's and gensim's update), "word" by its 1/m share (the
            exact gradient, as the TF path). The TF path always trains as "word".
        learning_rate: the SGD rate of `train_step`: a `LinearDecay` (word2vec's) or a
            float (constant).

    Example:

    >>> model = FusedWord2Vec(corpus.counts, 100,
    ...                       learning_rate=LinearDecay(0.1, 1e-4, 5 * corpus.num_tokens))
    >>> model.set_corpus(corpus.token_ids, corpus.sentence_ids)
    >>> Trainer(model, loss=None, optimizer=None, run_dir="runs/w2v").fit(model.dataset, 5)
    """

    def __init__(self, counts, embedding_dim=100, model="skipgram", loss="negative", window=5,
                 negatives=5, subsample_t=1e-4, backend="auto", threads=None, seed=0,
                 step_words=None, batching=None, learning_rate=0.025,
                 name="fused_word2vec"):
        super().__init__(name=name, dtype="float32")
        if batching is None:  # skip-gram HS: window steps cost quality (benchmarks/RESULTS.md)
            batching = "word" if (model, loss) == ("skipgram", "hierarchical") else "window"
        if (model not in MODELS or loss not in LOSSES or backend not in BACKENDS
                or batching not in BATCHINGS):
            raise ValueError(f"model must be in {MODELS}, loss in {LOSSES}, backend in "
                             f"{BACKENDS}, batching in {BATCHINGS}; received {model!r}, "
                             f"{loss!r}, {backend!r}, {batching!r}")
        self.batching = batching
        counts = np.asarray(counts, np.int64)
        self.architecture, self.objective, self.window = model, loss, int(window)
        self.negatives = int(negatives) if loss == "negative" else 0
        self.seed = int(seed)
        self.threads = int(threads or default_threads())
        self.tables = sampling_tables(counts, subsample_t, loss)
        dim = int(embedding_dim)
        rng = np.random.default_rng(self.seed)
        self.input_vectors = keras.Variable(
            ((rng.random((counts.size, dim), dtype=np.float32) - 0.5) / dim),
            name="input_vectors")
        self.output_vectors = keras.Variable(
            np.zeros((self.tables.output_rows, dim), np.float32), name="output_vectors")
        self.kernel, self.kernel_unavailable = None, None
        if backend in ("auto", "kernel"):
            self.kernel, self.kernel_unavailable = load_kernel_or_reason()
            if self.kernel is None and backend == "kernel":
                from kerasnotes.ops.word2vec_kernel import KernelUnavailable

                raise KernelUnavailable(self.kernel_unavailable)
        self.backend = "kernel" if self.kernel is not None else "tf"
        default_words = KERNEL_CALL_WORDS if self.backend == "kernel" else TF_STEP_WORDS
        self.step_words = int(step_words or default_words)
        if not isinstance(learning_rate, LinearDecay):
            learning_rate = LinearDecay(learning_rate, learning_rate, 1)
        self.schedule = learning_rate
        self.learning_rate = self.schedule(0)  # the rate at the end of the last step
        self.loss_tracker = keras.metrics.Mean(name="loss")  # per target, over the epoch
        self.words_trained = 0  # words kept after subsampling, by this process's steps
        self.tokens = self.splits = None
        self.run_eagerly = True
        self.built = True

    def set_corpus(self, token_ids, sentence_ids):
        """The corpus `train_step` trains on: int `(N,)` ids and their sentence ids."""
        self.tokens = tf.constant(np.asarray(token_ids, np.int32))
        self.splits = sentence_splits(sentence_ids)

    def dataset(self, epoch):
        """The steps of `epoch`: int64 `(first, last, epoch)`, its sentence ranges of
        `step_bounds`, in order (a pure function of `epoch`: a resumed run skips steps)."""
        if self.splits is None:
            raise ValueError(f"{self.name}: no corpus to train on; call set_corpus first")
        bounds = self.step_bounds(self.splits)
        return tf.data.Dataset.from_tensor_slices(
            (bounds[:-1], bounds[1:], np.full(bounds.size - 1, epoch, np.int64)))

    def train_step(self, data):
        """One step: sentences `first..last-1` of `epoch` (`data`, from `dataset`) at the
        rate of `learning_rate` (in words of the run: `epoch * N + offset(first)`).

        Returns `{"loss": mean loss per target of the step, "examples": words kept}`; the
        epoch's loss (`loss_tracker`) weighs each step by its targets.
        """
        first, last, epoch = (int(x) for x in data)
        corpus_words = int(self.splits[-1])
        stats = self.sgd_step(self.tokens, self.splits, first, last, epoch,
                              self.schedule.initial_learning_rate,
                              self.schedule.final_learning_rate, epoch * corpus_words,
                              self.schedule.decay_words)
        loss = stats["loss_sum"] / max(stats["targets"], 1)
        # update_state(loss, sample_weight=targets), in two ops instead of a dozen (a step
        # is one op call: the rest shows in the words/s)
        self.loss_tracker.total.assign_add(stats["loss_sum"])
        self.loss_tracker.count.assign_add(stats["targets"])
        self.words_trained += stats["kept_words"]
        self.learning_rate = stats["lr"]
        return {"loss": tf.constant(loss, tf.float32),
                "examples": tf.constant(stats["kept_words"], tf.float32)}

    @property
    def word_vectors(self):
        """The `(V, d)` word vectors (the input table)."""
        return self.input_vectors

    def describe(self):
        """One line naming the training path, for the apps' output."""
        if self.backend == "kernel":
            return (f"C++ kernel (Hogwild SGD, {self.threads} thread"
                    f"{'s' if self.threads != 1 else ''}, {self.batching} steps)")
        reason = f"; kernel unavailable: {self.kernel_unavailable}" \
            if self.kernel_unavailable else ""
        return f"fused TF ops (batched sparse SGD{reason})"

    def _empty_tree(self):
        if self.tables.paths is None:
            empty = np.zeros((0, 0), np.int32)
            return empty, empty, np.zeros((0,), np.int32)
        return (self.tables.paths.astype(np.int32), self.tables.codes.astype(np.int32),
                self.tables.lengths.astype(np.int32))

    def kernel_call(self, tokens, splits, first, last, epoch, lr, min_lr, words_before,
                    total_words, threads=None, return_examples=False):
        """One call of the kernel's `Word2VecTrainSentences` on sentences `first..last-1`.

        `words_before` counts the run's raw words before sentence `first`: the sentence at
        token offset `o` trains at `linear_lr(lr, min_lr, words_before + o - offset(first),
        total_words)`. Each sentence draws from its own generator seeded by `(seed, epoch,
        sentence)`, so on one thread an epoch gives the same result in one call or many.

        Returns the op's outputs: `stats` `[loss sum, examples, targets, kept words, raw
        words]` and (with `return_examples`, one thread) the examples it trained on, their
        step sizes and `step_splits`: example offsets of the SGD steps (a "window" step
        trains several examples at the same parameters).
        """
        paths, codes, lengths = self._empty_tree()
        return self.kernel.word2_vec_train_sentences(
            self.input_vectors.handle, self.output_vectors.handle, tokens, splits,
            np.array([first, last], np.int64), self.tables.keep, self.tables.accept,
            self.tables.alias, paths, codes, lengths, np.array([lr, min_lr], np.float32),
            np.array([words_before, total_words], np.int64),
            np.array([self.seed, epoch], np.int64), model=self.architecture, loss=self.objective,
            window=self.window, negatives=self.negatives,
            num_threads=int(threads or self.threads), return_examples=return_examples,
            batching=self.batching)

    def step_bounds(self, splits):
        """Sentence indices `[0, b_1, ..., S]` of the steps of an epoch: step `i` trains
        sentences `b_i..b_{i+1}-1`, about `step_words` raw words (whole sentences).

        Example:

        >>> FusedWord2Vec([0, 5, 5], step_words=4).step_bounds([0, 3, 6, 9]).tolist()
        [0, 2, 3]
        """
        splits = np.asarray(splits, np.int64)
        starts = splits[:-1]
        marks = np.searchsorted(starts, np.arange(0, splits[-1], self.step_words), side="left")
        return np.unique(np.r_[marks, starts.size])

    def sgd_step(self, tokens, splits, first, last, epoch, lr, min_lr, words_before,
                 total_words):
        """One step: sentences `first..last-1` of `epoch`, one kernel call or one TF step.

        Every sentence range draws its randomness from `(seed, epoch, sentence)` (kernel)
        or `(seed, epoch, first)` (TF path), so an epoch cut into steps and resumed at a
        step boundary trains as an uninterrupted one.

        Args:
            tokens: int32 `(N,)` corpus ids (a `tf.Tensor`: converted once per run).
            splits: int64 `(S + 1,)` sentence offsets (`sentence_splits`).
            first, last: the sentence range (from `step_bounds`).
            epoch, lr, min_lr, words_before, total_words: as in `train_epoch`.

        Returns:
            dict: `loss_sum` (summed over targets), `targets`, `examples`, `kept_words`,
            `raw_words`, and `lr`, the rate at the end of the step.
        """
        splits = np.asarray(splits, np.int64)
        first, last = int(first), int(last)
        done = words_before + int(splits[first])
        end_lr = linear_lr(lr, min_lr, words_before + int(splits[last]), total_words)
        if self.backend == "kernel":
            stats = self.kernel_call(tokens, splits, first, last, epoch, lr, min_lr, done,
                                     total_words)[0].numpy()
            return {"loss_sum": float(stats[0]), "targets": int(stats[2]),
                    "examples": int(stats[1]), "kept_words": int(stats[3]),
                    "raw_words": int(stats[4]), "lr": end_lr}
        rng = np.random.default_rng([self.seed, int(epoch), first])
        batch = sentence_examples(tokens, splits, first, last, self.tables, self.window,
                                  self.architecture, self.objective, self.negatives, rng)
        loss_sum = 0.0
        if batch.size:
            losses = tf_train_step(
                self.input_vectors.value, self.output_vectors.value, batch.input_ids,
                batch.input_splits, batch.target_ids, batch.target_labels, batch.target_splits,
                tf.ones([batch.size]), tf.constant(linear_lr(lr, min_lr, done, total_words)),
                average_duplicates=True)
            loss_sum = float(tf.reduce_sum(losses))
        return {"loss_sum": loss_sum, "targets": int(batch.target_ids.size),
                "examples": int(batch.size), "kept_words": batch.kept_words,
                "raw_words": batch.raw_words, "lr": end_lr}

    def train_epoch(self, tokens, splits, epoch, lr, min_lr, words_before, total_words,
                    on_batch=None):
        """Trains one epoch over all sentences (the steps of `step_bounds`); returns its
        statistics (without checkpoints or summaries: `kerasnotes.training.Trainer` runs
        whole trainings, one `train_step` at a time).

        Args:
            tokens: int32 `(N,)` corpus ids; splits: `sentence_splits` of the corpus.
            epoch: the epoch number (its sampling is seeded by `(seed, epoch)`).
            lr, min_lr: the rate at the start and at the end of the run.
            words_before: raw words trained before this epoch (of the whole run).
            total_words: raw words of the whole run (epochs x corpus words).
            on_batch: optional `on_batch(loss_per_target, lr)` after each call/step.

        Returns:
            dict: `loss` (mean loss per target, the notes' masked-BCE scale), `examples`,
            `kept_words` (after subsampling), `raw_words`, `lr` (at the epoch's end).
        """
        tokens = tf.constant(np.asarray(tokens, np.int32))
        splits = np.asarray(splits, np.int64)
        bounds = self.step_bounds(splits)
        totals = dict.fromkeys(("loss_sum", "targets", "examples", "kept_words", "raw_words"), 0)
        for first, last in zip(bounds[:-1], bounds[1:]):
            stats = self.sgd_step(tokens, splits, first, last, epoch, lr, min_lr,
                                  words_before, total_words)
            for key in totals:
                totals[key] += stats[key]
            if on_batch is not None and stats["targets"]:
                on_batch(stats["loss_sum"] / stats["targets"], stats["lr"])
        return {
            "loss": totals["loss_sum"] / max(totals["targets"], 1),
            "examples": totals["examples"],
            "kept_words": totals["kept_words"],
            "raw_words": totals["raw_words"],
            "lr": linear_lr(lr, min_lr, words_before + int(splits[-1]), total_words),
        }
