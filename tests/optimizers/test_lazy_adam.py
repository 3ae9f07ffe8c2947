"""LazyAdam: sparse rows against a NumPy transcription, dense equal to kerasnotes Adam."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.optimizers.adam import Adam
from kerasnotes.optimizers.lazy_adam import LazyAdam
from tests.optimizers.optimizer_checks import check_bad_argument, check_fit_and_save

ETA, BETA_1, BETA_2, EPS = 0.05, 0.8, 0.9, 1e-3  # a large epsilon: its place is tested
VOCAB, DIM = 7, 3
# Ids looked up at each of the 5 steps: duplicated rows (1, 4), rows touched at some steps
# only (0, 2, 3, 5), and row 6 never touched.
STEP_IDS = [
    [1, 4, 1, 0],
    [2, 2, 2, 4],
    [1, 3, 5, 1],
    [4, 0, 4, 4],
    [5, 1, 2, 3],
]


def make_lazy_adam(**kwargs):
    return LazyAdam(learning_rate=ETA, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPS, **kwargs)


def numpy_lazy_adam(x, step_ids, cotangents, eta=ETA, beta_1=BETA_1, beta_2=BETA_2, eps=EPS):
    """float64 transcription: per step, the summed row gradients update only their rows,
    the bias correction uses the global step t."""
    x = x.astype("float64")
    m, v = np.zeros_like(x), np.zeros_like(x)
    for t, (ids, c) in enumerate(zip(step_ids, cotangents, strict=True), start=1):
        g = np.zeros_like(x)
        np.add.at(g, ids, c.astype("float64"))
        for row in sorted(set(ids)):
            m[row] = beta_1 * m[row] + (1 - beta_1) * g[row]
            v[row] = beta_2 * v[row] + (1 - beta_2) * g[row] ** 2
            m_hat = m[row] / (1 - beta_1**t)
            v_hat = v[row] / (1 - beta_2**t)
            x[row] = x[row] - eta * m_hat / (np.sqrt(v_hat) + eps)
    return x, m, v


def sparse_problem(seed=0):
    rng = np.random.default_rng(seed)
    initial = rng.normal(size=(VOCAB, DIM)).astype("float32")
    cotangents = [rng.normal(size=(len(ids), DIM)).astype("float32") for ids in STEP_IDS]
    return initial, cotangents


def run_sparse(make_optimizer, initial, cotangents, strategy):
    """Trains an Embedding's table on `sum(Embedding(ids_t) * c_t)` for each step inside a
    tf.function under `strategy`; returns the table, m and v (NumPy) and the gradient types."""
    with strategy.scope():
        layer = keras.layers.Embedding(
            VOCAB, DIM, embeddings_initializer=keras.initializers.Constant(initial)
        )
        layer.build((None,))
        optimizer = make_optimizer()
        optimizer.build([layer.embeddings])
    gradient_types = []

    @tf.function
    def train_step(ids, c):
        def replica_step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(layer(ids) * c) / strategy.num_replicas_in_sync
            grads = tape.gradient(loss, [layer.embeddings])
            gradient_types.extend(type(g) for g in grads)
            optimizer.apply_gradients(zip(grads, [layer.embeddings], strict=True))

        strategy.run(replica_step)

    for ids, c in zip(STEP_IDS[:len(cotangents)], cotangents, strict=True):
        train_step(tf.constant(ids, tf.int32), tf.constant(c))
    assert gradient_types and all(issubclass(t, tf.IndexedSlices) for t in gradient_types)
    values = [np.array(keras.ops.convert_to_numpy(v))
              for v in (layer.embeddings, optimizer._momentums[0], optimizer._velocities[0])]
    return values, optimizer


def check_sparse_against_numpy(strategy):
    initial, cotangents = sparse_problem()
    (x, m, v), optimizer = run_sparse(make_lazy_adam, initial, cotangents, strategy)
    expected_x, expected_m, expected_v = numpy_lazy_adam(initial, STEP_IDS, cotangents)
    assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == len(STEP_IDS)
    np.testing.assert_allclose(x, expected_x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(m, expected_m, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v, expected_v, rtol=1e-5, atol=1e-6)
    # Row 6 never had a gradient: its value and slots are untouched; the others moved.
    np.testing.assert_array_equal(x[6], initial[6])
    np.testing.assert_array_equal(m[6], 0.0)
    assert not np.allclose(x[:6], initial[:6], atol=1e-3)


def test_sparse_matches_numpy_default_strategy():
    check_sparse_against_numpy(tf.distribute.get_strategy())


def test_sparse_matches_numpy_mirrored_strategy(mirrored_strategy):
    check_sparse_against_numpy(mirrored_strategy)


def test_sparse_differs_from_dense_adam_only_through_absent_rows():
    # Step 1 touches rows 1, 4, 0 only: dense Adam and lazy Adam agree after it. At step 2,
    # row 0 has no gradient: dense Adam still moves it by its decayed momentum, lazy Adam not.
    initial, cotangents = sparse_problem(seed=1)
    strategy = tf.distribute.get_strategy()
    lazy, _ = run_sparse(make_lazy_adam, initial, cotangents[:1], strategy)
    dense, _ = run_sparse(
        lambda: Adam(learning_rate=ETA, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPS),
        initial, cotangents[:1], strategy,
    )
    np.testing.assert_allclose(lazy[0], dense[0], rtol=1e-6, atol=1e-6)
    lazy, _ = run_sparse(make_lazy_adam, initial, cotangents[:2], strategy)
    dense, _ = run_sparse(
        lambda: Adam(learning_rate=ETA, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPS),
        initial, cotangents[:2], strategy,
    )
    assert not np.allclose(lazy[0][0], dense[0][0], atol=1e-4)  # row 0: absent at step 2
    np.testing.assert_allclose(lazy[0][2], dense[0][2], rtol=1e-6, atol=1e-6)  # first seen
    np.testing.assert_array_equal(lazy[0][[3, 5, 6]], initial[[3, 5, 6]])


def run_dense(make_optimizer, initial, cotangents, strategy):
    with strategy.scope():
        variables = [keras.Variable(x) for x in initial]
        optimizer = make_optimizer()
        optimizer.build(variables)

    @tf.function
    def train_step(cs):
        def replica_step():
            with tf.GradientTape() as tape:
                loss = tf.add_n([tf.reduce_sum(keras.ops.convert_to_tensor(v) * c)
                                 for v, c in zip(variables, cs, strict=True)])
                loss = loss / strategy.num_replicas_in_sync
            grads = tape.gradient(loss, variables)
            assert not any(isinstance(g, tf.IndexedSlices) for g in grads)
            optimizer.apply_gradients(zip(grads, variables, strict=True))

        strategy.run(replica_step)

    for cs in cotangents:
        train_step([tf.constant(c) for c in cs])
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def check_dense_equals_adam(strategy, **kwargs):
    rng = np.random.default_rng(2)
    shapes = [(3, 4), (4,)]
    initial = [rng.normal(size=s).astype("float32") for s in shapes]
    cotangents = [[rng.normal(size=s).astype("float32") for s in shapes] for _ in range(5)]
    arguments = dict(learning_rate=ETA, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPS, **kwargs)
    lazy = run_dense(lambda: LazyAdam(**arguments), initial, cotangents, strategy)
    dense = run_dense(lambda: Adam(**arguments), initial, cotangents, strategy)
    assert not np.allclose(lazy[0], initial[0])
    for a, b in zip(lazy, dense, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_dense_equals_adam_default_strategy():
    check_dense_equals_adam(tf.distribute.get_strategy())
    check_dense_equals_adam(tf.distribute.get_strategy(), weight_decay=0.05)


def test_dense_equals_adam_mirrored_strategy(mirrored_strategy):
    check_dense_equals_adam(mirrored_strategy)


def test_fit_config_and_save(tmp_path):
    optimizer = LazyAdam(learning_rate=0.01, beta_1=0.8, beta_2=0.95, epsilon=1e-6)
    check_fit_and_save(optimizer, tmp_path)
    config = optimizer.get_config()
    assert (config["beta_1"], config["beta_2"], config["epsilon"]) == (0.8, 0.95, 1e-6)
    assert keras.optimizers.get(keras.saving.serialize_keras_object(optimizer)).__class__ \
        is LazyAdam


@pytest.mark.parametrize("name, value", [
    ("learning_rate", -1.0), ("learning_rate", True), ("beta_1", 1.0), ("beta_1", -0.1),
    ("beta_2", 1.5), ("epsilon", 0.0), ("epsilon", -1e-8),
])
def test_bad_arguments(name, value):
    check_bad_argument(LazyAdam, name, value)
