"""Layers from the notes: from-scratch building blocks and the CNN blocks.

Names that match Keras layers (`Conv2D`, `BatchNormalization`, `Dropout`, ...) are the
from-scratch versions written from the notes' formulas and tested equal to the Keras ones.
"""

from kerasnotes.layers.batch_norm import BatchNormalization
from kerasnotes.layers.bidirectional_rnn import BidirectionalRNN
from kerasnotes.layers.bilinear_initializer import BilinearInitializer, bilinear_kernel
from kerasnotes.layers.box_predictor import BoxPredictor
from kerasnotes.layers.class_predictor import ClassPredictor
from kerasnotes.layers.conv2d import Conv2D
from kerasnotes.layers.deep_rnn import DeepRNN
from kerasnotes.layers.dense_block import DenseBlock
from kerasnotes.layers.down_sample_block import DownSampleBlock
from kerasnotes.layers.dropout import Dropout
from kerasnotes.layers.fused_batch_norm import FusedBatchNormalization
from kerasnotes.layers.fused_batch_norm_relu import FusedBatchNormReLU
from kerasnotes.layers.gru_cell import GRUCell
from kerasnotes.layers.hierarchical_softmax import HierarchicalSoftmax
from kerasnotes.layers.inception import Inception
from kerasnotes.layers.lstm_cell import LSTMCell
from kerasnotes.layers.maxout import Maxout
from kerasnotes.layers.multiscale_concat import MultiscaleConcat
from kerasnotes.layers.nin_block import NiNBlock
from kerasnotes.layers.normal_initializer import RandomNormal
from kerasnotes.layers.pool2d import Pool2D
from kerasnotes.layers.random_fourier_features import RandomFourierFeatures
from kerasnotes.layers.rectifiers import GeneralizedReLU
from kerasnotes.layers.residual import Residual
from kerasnotes.layers.rnn_cell import RNNCell
from kerasnotes.layers.roi_align import ROIAlign
from kerasnotes.layers.roi_pooling import ROIPooling
from kerasnotes.layers.ssd_base_network import SSDBaseNetwork
from kerasnotes.layers.transition_block import TransitionBlock
from kerasnotes.layers.vgg_block import VGGBlock
from kerasnotes.layers.weight_decay import L2WeightDecay
from kerasnotes.layers.xavier_uniform import XavierUniform
