"""Architectures from the notes, one file each."""

from kerasnotes.models.alexnet import AlexNet
from kerasnotes.models.cbow import CBOW
from kerasnotes.models.densenet import DenseNet
from kerasnotes.models.efficientnet_lite import EfficientNetLite
from kerasnotes.models.fast_rcnn import FastRCNN, FastRCNNHead
from kerasnotes.models.fcn import FCN
from kerasnotes.models.googlenet import GoogLeNet
from kerasnotes.models.lenet import LeNet
from kerasnotes.models.linear_regression_scratch import LinearRegressionScratch
from kerasnotes.models.mlp import MLP
from kerasnotes.models.mlp_scratch import MLPScratch
from kerasnotes.models.ngram import NGramLanguageModel
from kerasnotes.models.nin import NiN
from kerasnotes.models.resnet import ResNet, ResNet18
from kerasnotes.models.rnn_language_model import RNNLanguageModel
from kerasnotes.models.skip_gram import SkipGram
from kerasnotes.models.softmax_regression import SoftmaxRegression
from kerasnotes.models.softmax_regression_scratch import SoftmaxRegressionScratch
from kerasnotes.models.style_transfer import StyleTransfer
from kerasnotes.models.svm import LinearSVM, polynomial_features
from kerasnotes.models.tiny_ssd import TinySSD
from kerasnotes.models.vgg import VGG, VGG11_ARCH
