"""The checks of `Trainer`'s arguments: one `ValueError` naming the argument."""

import keras

from kerasnotes._checks import check_int


def check_model(model, strategy):
    """Refuses a model that is not a built `keras.Model` whose variables `strategy` made.

    Example:

    >>> with strategy.scope():
    ...     model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> check_model(model, strategy)
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"Trainer: model must be a keras.Model; received {type(model)}")
    if not model.built:
        raise ValueError("Trainer: the model must be built (call it once or give it an Input)")
    variables = model.trainable_variables
    if variables and not strategy.extended.variable_created_in_scope(
        getattr(variables[0], "value", variables[0])  # a Keras variable's tf.Variable
    ):
        raise ValueError(
            "Trainer: the model's variables were not created under the strategy's scope. "
            "Build the model and optimizer inside `with strategy.scope():`."
        )


def check_options(metrics, log_every_n_steps, steps_per_execution, checkpoint_every_n_steps,
                  profile_steps):
    """The options as the Trainer keeps them: `(log_every_n_steps, steps_per_execution,
    checkpoint_every_n_steps, profile_steps)`, ints (`profile_steps` a pair or None).

    Example:

    >>> check_options([], 50, 1, None, ("2", "4"))
    (50, 1, None, (2, 4))
    """
    for metric in metrics:
        if not isinstance(metric, keras.metrics.Metric):
            raise ValueError(
                f"Trainer: metrics must be keras.metrics.Metric objects; received {metric!r}")
    if profile_steps is not None:
        first, last = (int(s) for s in profile_steps)
        if not 1 <= first <= last:
            raise ValueError("Trainer: profile_steps must be (first, last) with "
                             f"1 <= first <= last; received {profile_steps}")
        profile_steps = (first, last)
    return (check_int("Trainer", "log_every_n_steps", log_every_n_steps),
            check_int("Trainer", "steps_per_execution", steps_per_execution),
            check_int("Trainer", "checkpoint_every_n_steps", checkpoint_every_n_steps,
                      allow_none=True),
            profile_steps)
