"""Layers from the notes: from-scratch building blocks and the CNN blocks.

Names that match Keras layers (`Conv2D`, `BatchNormalization`, `Dropout`, ...) are the
from-scratch versions written from the notes' formulas and tested equal to the Keras ones.
"""

from kerasnotes.layers.batch_norm import BatchNormalization
from kerasnotes.layers.conv2d import Conv2D
from kerasnotes.layers.dense_block import DenseBlock
from kerasnotes.layers.dropout import Dropout
from kerasnotes.layers.inception import Inception
from kerasnotes.layers.maxout import Maxout
from kerasnotes.layers.nin_block import NiNBlock
from kerasnotes.layers.normal_initializer import RandomNormal
from kerasnotes.layers.pool2d import Pool2D
from kerasnotes.layers.random_fourier_features import RandomFourierFeatures
from kerasnotes.layers.rectifiers import GeneralizedReLU
from kerasnotes.layers.residual import Residual
from kerasnotes.layers.transition_block import TransitionBlock
from kerasnotes.layers.vgg_block import VGGBlock
from kerasnotes.layers.weight_decay import L2WeightDecay
from kerasnotes.layers.xavier_uniform import XavierUniform
