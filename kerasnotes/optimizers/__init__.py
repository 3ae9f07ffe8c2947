"""The notes' optimizers as `keras.optimizers.Optimizer` subclasses, and gradient clipping."""

from kerasnotes.optimizers.adadelta import AdaDelta
from kerasnotes.optimizers.adagrad import AdaGrad
from kerasnotes.optimizers.adam import Adam
from kerasnotes.optimizers.clip_by_global_norm import clip_by_global_norm
from kerasnotes.optimizers.lazy_adam import LazyAdam
from kerasnotes.optimizers.learning_rate_multipliers import LearningRateMultipliers
from kerasnotes.optimizers.momentum import Momentum
from kerasnotes.optimizers.rmsprop import RMSProp
from kerasnotes.optimizers.sgd import SGD
