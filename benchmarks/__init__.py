"""Speed and quality benchmarks (not part of the kerasnotes package); results in RESULTS.md.

Run each from the project root as a module, e.g. `python -m benchmarks.optimizer_step`.
Importing this package quiets TensorFlow's C++ start-up logs (TF_CPP_MIN_LOG_LEVEL=2,
unless already set) before any benchmark imports TensorFlow.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
