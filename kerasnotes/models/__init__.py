"""Architectures from the notes, one file each."""

from kerasnotes.models.alexnet import AlexNet
from kerasnotes.models.densenet import DenseNet
from kerasnotes.models.googlenet import GoogLeNet
from kerasnotes.models.lenet import LeNet
from kerasnotes.models.linear_regression_scratch import LinearRegressionScratch
from kerasnotes.models.mlp import MLP
from kerasnotes.models.mlp_scratch import MLPScratch
from kerasnotes.models.nin import NiN
from kerasnotes.models.resnet import ResNet, ResNet18
from kerasnotes.models.softmax_regression import SoftmaxRegression
from kerasnotes.models.softmax_regression_scratch import SoftmaxRegressionScratch
from kerasnotes.models.svm import LinearSVM, polynomial_features
from kerasnotes.models.vgg import VGG, VGG11_ARCH
