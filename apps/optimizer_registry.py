"""The optimizers the apps' flags name: name -> class (and default hyperparameters).

`NOTES_OPTIMIZERS` (apps.optimizers, apps.tabular): the notes' optimizers in
kerasnotes.optimizers with the hyperparameters of d2l's chapter on the airfoil data; SGD's
`decay_rate` < 1 multiplies its learning rate by it after every epoch
(kerasnotes.optimizers.per_epoch_decay). `TRAINING_OPTIMIZERS` (apps.word2vec, apps.ssd):
Keras' SGD and Adam, and kerasnotes' LazyAdam and SGD, whose sparse updates (of embedding
rows) touch only the rows of a batch. Importing this module does not load TensorFlow (the
flag checks read the defaults); building an optimizer does.

    >>> default_hyperparameters("momentum")
    {'learning_rate': 0.02, 'gamma': 0.5}
    >>> make_optimizer("momentum", {"learning_rate": 0.02, "gamma": 0.9}, steps_per_epoch=10)
    >>> make_training_optimizer("sgd", 0.2, weight_decay=5e-4)   # keras.optimizers.SGD
"""

import importlib

# name -> (module in kerasnotes.optimizers, class, default hyperparameters)
NOTES_OPTIMIZERS = {
    "sgd": ("sgd", "SGD", {"learning_rate": 0.05, "decay_rate": 1.0}),
    "momentum": ("momentum", "Momentum", {"learning_rate": 0.02, "gamma": 0.5}),
    "adagrad": ("adagrad", "AdaGrad", {"learning_rate": 0.1, "epsilon": 1e-6}),
    "rmsprop": ("rmsprop", "RMSProp", {"learning_rate": 0.01, "gamma": 0.9, "epsilon": 1e-6}),
    "adadelta": ("adadelta", "AdaDelta", {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-5}),
    "adam": ("adam", "Adam", {"learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999,
                              "epsilon": 1e-8}),
}

# name -> (module, class); the class takes the learning rate first.
TRAINING_OPTIMIZERS = {
    "sgd": ("keras.optimizers", "SGD"),
    "adam": ("keras.optimizers", "Adam"),
    "lazy_adam": ("kerasnotes.optimizers.lazy_adam", "LazyAdam"),
    "notes_sgd": ("kerasnotes.optimizers.sgd", "SGD"),
}


def _check_name(function, name, registry):
    if name not in registry:
        raise ValueError(f"{function}: name must be one of {', '.join(registry)}; "
                         f"received name={name!r}")


def default_hyperparameters(name):
    """A copy of the default hyperparameters of the notes' optimizer `name`."""
    _check_name("default_hyperparameters", name, NOTES_OPTIMIZERS)
    return dict(NOTES_OPTIMIZERS[name][2])


def make_optimizer(name, hyperparameters, steps_per_epoch):
    """The notes' optimizer `name` with `hyperparameters` (keys of its defaults; SGD's
    `decay_rate` decays the learning rate once per `steps_per_epoch` steps)."""
    from kerasnotes.optimizers.per_epoch_decay import per_epoch_decay

    _check_name("make_optimizer", name, NOTES_OPTIMIZERS)
    module, class_name, _ = NOTES_OPTIMIZERS[name]
    optimizer_class = getattr(importlib.import_module(f"kerasnotes.optimizers.{module}"),
                              class_name)
    values = dict(hyperparameters)
    if "decay_rate" in values:
        values["learning_rate"] = per_epoch_decay(values["learning_rate"],
                                                  values.pop("decay_rate"), steps_per_epoch)
    return optimizer_class(**values)


def make_training_optimizer(name, learning_rate, **arguments):
    """The optimizer `name` of `TRAINING_OPTIMIZERS` at `learning_rate`; `arguments` go to
    its class, e.g. `momentum=0.9` or `weight_decay=5e-4` for "sgd"."""
    _check_name("make_training_optimizer", name, TRAINING_OPTIMIZERS)
    module, class_name = TRAINING_OPTIMIZERS[name]
    return getattr(importlib.import_module(module), class_name)(learning_rate, **arguments)
