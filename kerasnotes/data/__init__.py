"""tf.data pipelines: real loaders and embedded synthetic defaults."""

from kerasnotes.data.detection.banana_detection import load_banana_detection, read_banana_labels
from kerasnotes.data.detection.detection_pipeline import make_detection_dataset
from kerasnotes.data.detection.synthetic_detection import ensure_synthetic_detection_dataset
from kerasnotes.data.detection.voc_detection import load_voc_detection
from kerasnotes.data.images.classification_datasets import (
    ClassificationData,
    load_classification_data,
    make_classification_dataset,
)
from kerasnotes.data.images.fashion_mnist import load_fashion_mnist_tfds
from kerasnotes.data.images.idx import load_fashion_mnist_idx, read_idx
from kerasnotes.data.images.image_augmentation import ImageAugmentation, augment_dataset
from kerasnotes.data.images.image_folder import load_image_folder
from kerasnotes.data.images.synthetic_glyphs import load_synthetic_glyphs
from kerasnotes.data.segmentation.voc_segmentation import read_voc_segmentation
from kerasnotes.data.tabular.house_prices import read_house_prices_csv, synthetic_house_prices
from kerasnotes.data.tabular.minibatch_sampling import make_minibatch_dataset, minibatch_indices
from kerasnotes.data.tabular.tabular_preprocessing import TabularPreprocessing
from kerasnotes.data.text.sequence_sampling import (
    random_sampling_dataset,
    sequential_sampling_dataset,
)
from kerasnotes.data.text.text_corpus import load_text_corpus
from kerasnotes.data.text.text_vocabulary import TextVocabulary
from kerasnotes.data.text.word2vec_dataset import make_word2vec_dataset
from kerasnotes.data.text.word2vec_vocabulary import Word2VecVocabulary
