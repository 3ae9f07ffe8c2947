"""The notes' optimizers that apps.optimizers and apps.tabular name: kerasnotes.optimizers
with the hyperparameters of d2l's airfoil chapter; SGD's `decay_rate` < 1 multiplies its
learning rate by it after every epoch. Importing this module does not load TensorFlow.

    >>> default_hyperparameters("momentum")
    {'learning_rate': 0.02, 'gamma': 0.5}
    >>> make_optimizer("momentum", {"learning_rate": 0.02, "gamma": 0.9}, steps_per_epoch=10)
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


def _entry(function, name, registry):
    if name not in registry:
        raise ValueError(f"{function}: name must be one of {', '.join(registry)}; "
                         f"received name={name!r}")
    return registry[name]


def default_hyperparameters(name):
    """A copy of the default hyperparameters of the notes' optimizer `name`."""
    return dict(_entry("default_hyperparameters", name, NOTES_OPTIMIZERS)[2])


def make_optimizer(name, hyperparameters, steps_per_epoch):
    """The notes' optimizer `name` with `hyperparameters` (keys of its defaults; SGD's
    `decay_rate` decays the learning rate once per `steps_per_epoch` steps)."""
    from kerasnotes.optimizers.per_epoch_decay import per_epoch_decay

    module, class_name, _ = _entry("make_optimizer", name, NOTES_OPTIMIZERS)
    values = dict(hyperparameters)
    if "decay_rate" in values:
        values["learning_rate"] = per_epoch_decay(values["learning_rate"],
                                                  values.pop("decay_rate"), steps_per_epoch)
    module = importlib.import_module(f"kerasnotes.optimizers.{module}")
    return getattr(module, class_name)(**values)

