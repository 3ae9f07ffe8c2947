"""Per-layer learning rates: an optimizer that trains some layers faster than others."""

import copy

import keras

from kerasnotes._checks import check_number


def _layer_name(variable):
    return variable.path.split("/")[0]


@keras.saving.register_keras_serializable(package="kerasnotes")
class LearningRateMultipliers(keras.optimizers.Optimizer):
    """Wraps an optimizer so the variables of named layers use a multiple of its rate.

    The notes' fine-tuning (微调, step 4): the new output layer is trained from scratch with
    a learning rate up to 1000 times that of the copied layers, which are only fine-tuned.
    For a variable `w` of the top-level layer `name`, with `eta` the wrapped optimizer's
    learning rate:

        eta_w = multipliers.get(name, 1) * eta

    and `w` is updated by the wrapped optimizer's own rule with `eta_w`. Each distinct
    multiplier gets its own copy of the wrapped optimizer (same config, learning rate
    `m * eta`): its slots (momentum, Adam moments) and step count are exactly those the
    plain optimizer would keep for those variables, so any Keras optimizer works (a
    multiplier is *not* the same as scaling the gradient for Adam, which is scale
    invariant). Each copy applies its group's gradients with its own `apply`, so
    `tf.distribute` strategies work as for the plain optimizer.

    `learning_rate` and `iterations` are those of the wrapped optimizer (the copies take a
    step together with it). Changing `learning_rate` after construction does not reach the
    copies; use a fixed rate or a schedule in the wrapped optimizer.

    Args:
        optimizer: a `keras.optimizers.Optimizer` (or its serialized config) with a float
            learning rate: the rate of every layer not in `multipliers`.
        multipliers: `{layer name: factor > 0}`; a variable belongs to the layer named by
            the first component of its `variable.path` (`"output/kernel"` -> `"output"`).

    Example:

    >>> optimizer = LearningRateMultipliers(keras.optimizers.SGD(0.01), {"output": 10.0})
    >>> # the "output" layer trains with 0.1, every other layer with 0.01
    """

    def __init__(self, optimizer, multipliers, name="learning_rate_multipliers", **kwargs):
        if isinstance(optimizer, dict):
            optimizer = keras.optimizers.deserialize(copy.deepcopy(optimizer))
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise ValueError("LearningRateMultipliers: optimizer must be a keras optimizer; "
                             f"received optimizer={optimizer!r}")
        config = optimizer.get_config()
        if not isinstance(config["learning_rate"], (int, float)):
            raise ValueError("LearningRateMultipliers: the wrapped optimizer needs a float "
                             f"learning rate; received {config['learning_rate']!r}")
        if not isinstance(multipliers, dict) or not multipliers:
            raise ValueError("LearningRateMultipliers: multipliers must be a non-empty dict "
                             f"{{layer name: factor}}; received multipliers={multipliers!r}")
        for layer, factor in multipliers.items():
            check_number("LearningRateMultipliers", f"multipliers[{layer!r}]", factor,
                         exclusive_minimum=0)
        kwargs.pop("learning_rate", None)
        super().__init__(learning_rate=float(config["learning_rate"]), name=name, **kwargs)
        self.optimizer = optimizer
        self.multipliers = {str(k): float(v) for k, v in multipliers.items()}
        base_rate = float(config["learning_rate"])
        self._factors = sorted(set(self.multipliers.values()) - {1.0})
        self._copies = [
            optimizer.__class__.from_config(dict(config, learning_rate=base_rate * factor,
                                                 name=f"{config['name']}_x{factor:g}"))
            for factor in self._factors
        ]

    def _optimizer_for(self, factor):
        if factor == 1.0:
            return self.optimizer
        return self._copies[self._factors.index(factor)]

    def _groups(self, grads, variables):
        groups = {}
        for grad, variable in zip(grads, variables):
            factor = self.multipliers.get(_layer_name(variable), 1.0)
            group = groups.setdefault(factor, ([], []))
            group[0].append(grad)
            group[1].append(variable)
        return groups

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        for factor, (_, group) in self._groups([None] * len(variables), variables).items():
            self._optimizer_for(factor).build(group)
        # Copies whose layers are absent still take part in checkpoints with no variables.
        for optimizer in [self.optimizer, *self._copies]:
            if not optimizer.built:
                optimizer.build([])

    @property
    def iterations(self):
        return self.optimizer.iterations

    @property
    def learning_rate(self):
        return self.optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        # The base class sets the rate in its constructor, before `self.optimizer` exists.
        if "optimizer" in self.__dict__:
            self.optimizer.learning_rate = value
        else:
            keras.optimizers.Optimizer.learning_rate.fset(self, value)

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is None:
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            self.build(trainable_variables)
            self.built = True
        groups = self._groups(list(grads), trainable_variables)
        for factor in [1.0, *self._factors]:
            optimizer = self._optimizer_for(factor)
            group_grads, group_vars = groups.get(factor, ([], []))
            if group_vars:
                optimizer.apply(group_grads, group_vars)
            else:  # keep every copy's step count (Adam's bias correction) in lockstep
                optimizer.iterations.assign_add(1)

    def get_config(self):
        return {
            "name": self.name,
            "optimizer": keras.optimizers.serialize(self.optimizer),
            "multipliers": dict(self.multipliers),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)
