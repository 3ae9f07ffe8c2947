"""Optimizers by name: the notes' optimizers with their chapter's hyperparameters, and the
optimizers the apps train with.

`NOTES_OPTIMIZERS` maps a name to `(module, class name, default hyperparameters)`;
`make_optimizer(name, hyperparameters, steps_per_epoch)` builds one. SGD's `decay_rate` < 1
is the notes' learning-rate decay per epoch, `eta_t = eta * decay_rate ** epoch`, done with
Keras' `ExponentialDecay(staircase=True)` over `steps_per_epoch`.

`TRAINING_OPTIMIZERS` maps the names of the apps' `--optimizer` flags to `(module, class
name)`; `make_training_optimizer(name, learning_rate, **arguments)` builds one.

Example:

>>> optimizer = make_optimizer("momentum", {"learning_rate": 0.02, "gamma": 0.5}, 10)
>>> type(optimizer).__name__
'Momentum'
>>> make_training_optimizer("sgd", 0.2, weight_decay=5e-4)   # keras.optimizers.SGD
"""

import importlib

import keras

NOTES_OPTIMIZERS = {
    "sgd": ("sgd", "SGD", {"learning_rate": 0.05, "decay_rate": 1.0}),
    "momentum": ("momentum", "Momentum", {"learning_rate": 0.02, "gamma": 0.5}),
    "adagrad": ("adagrad", "AdaGrad", {"learning_rate": 0.1, "epsilon": 1e-6}),
    "rmsprop": ("rmsprop", "RMSProp", {"learning_rate": 0.01, "gamma": 0.9, "epsilon": 1e-6}),
    "adadelta": ("adadelta", "AdaDelta", {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-5}),
    "adam": ("adam", "Adam", {"learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999,
                              "epsilon": 1e-8}),
}

# The optimizers the apps train their models with: Keras' SGD and Adam, and kerasnotes'
# LazyAdam and SGD, whose sparse updates (of embedding rows) touch only the rows of a batch.
TRAINING_OPTIMIZERS = {
    "sgd": ("keras.optimizers", "SGD"),
    "adam": ("keras.optimizers", "Adam"),
    "lazy_adam": ("kerasnotes.optimizers.lazy_adam", "LazyAdam"),
    "notes_sgd": ("kerasnotes.optimizers.sgd", "SGD"),
}


def default_hyperparameters(name):
    """A copy of the default hyperparameters of the notes' optimizer `name`."""
    if name not in NOTES_OPTIMIZERS:
        raise ValueError(f"default_hyperparameters: name must be one of "
                         f"{', '.join(NOTES_OPTIMIZERS)}; received name={name!r}")
    return dict(NOTES_OPTIMIZERS[name][2])


def make_optimizer(name, hyperparameters, steps_per_epoch):
    """The kerasnotes optimizer `name` with `hyperparameters` (keys of its defaults)."""
    if name not in NOTES_OPTIMIZERS:
        raise ValueError(f"make_optimizer: name must be one of {', '.join(NOTES_OPTIMIZERS)}; "
                         f"received name={name!r}")
    module, class_name, _ = NOTES_OPTIMIZERS[name]
    optimizer_class = getattr(importlib.import_module(f"kerasnotes.optimizers.{module}"),
                              class_name)
    values = dict(hyperparameters)
    decay_rate = values.pop("decay_rate", 1.0)
    if not 0 < decay_rate <= 1:
        raise ValueError(f"--hparam sgd.decay_rate must be in (0, 1]; received {decay_rate}")
    if decay_rate < 1:
        if values["learning_rate"] < 0:
            raise ValueError(f"SGD: learning_rate must be >= 0; received "
                             f"learning_rate={values['learning_rate']}")
        values["learning_rate"] = keras.optimizers.schedules.ExponentialDecay(
            values["learning_rate"], decay_steps=steps_per_epoch, decay_rate=decay_rate,
            staircase=True)
    return optimizer_class(**values)


def make_training_optimizer(name, learning_rate, **arguments):
    """The optimizer `name` of `TRAINING_OPTIMIZERS` at `learning_rate`.

    `arguments` go to its class, e.g. `momentum=0.9` or `weight_decay=5e-4` for "sgd".
    """
    if name not in TRAINING_OPTIMIZERS:
        raise ValueError(f"make_training_optimizer: name must be one of "
                         f"{', '.join(TRAINING_OPTIMIZERS)}; received name={name!r}")
    module, class_name = TRAINING_OPTIMIZERS[name]
    optimizer_class = getattr(importlib.import_module(module), class_name)
    return optimizer_class(learning_rate, **arguments)
