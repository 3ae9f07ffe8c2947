"""The package imports cleanly, exposes its public names and carries its C++ sources."""

import configparser
import fnmatch
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_import_has_no_side_effects():
    code = (
        "import sys; import kerasnotes; "
        "assert 'tensorflow' not in sys.modules, 'importing kerasnotes imported tensorflow'; "
        "print(kerasnotes.__version__)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.1.0"


def test_subpackages_export_their_public_names():
    import kerasnotes.data
    import kerasnotes.layers
    import kerasnotes.losses
    import kerasnotes.models
    import kerasnotes.ops
    import kerasnotes.optimizers
    import kerasnotes.serving
    import kerasnotes.training

    for module in (kerasnotes.data, kerasnotes.layers, kerasnotes.losses, kerasnotes.models,
                   kerasnotes.ops, kerasnotes.optimizers, kerasnotes.serving, kerasnotes.training):
        public = [name for name in dir(module) if not name.startswith("_")]
        assert public, module.__name__
    assert kerasnotes.models.LeNet.__module__ == "kerasnotes.models.lenet"
    assert kerasnotes.training.Trainer.__module__ == "kerasnotes.training.trainer"
    assert kerasnotes.serving.DetectionServer.__module__ == "kerasnotes.serving.detection"


def test_every_custom_op_source_is_package_data():
    """The custom ops' C++ sources and headers, compiled on first use
    (kerasnotes/ops/custom_op_build.py), are package data in setup.cfg, so that an installed
    (not editable) package has them."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    package_data = {package: patterns.split() for package, patterns in
                    config["options.package_data"].items()}
    sources = sorted([*(ROOT / "kerasnotes").rglob("*.cc"), *(ROOT / "kerasnotes").rglob("*.h")])
    assert len(sources) >= 4  # the word2vec, batch-norm and convolution kernels, a header
    for source in sources:
        package = ".".join(source.parent.relative_to(ROOT).parts)
        patterns = package_data.get(package, [])
        assert any(fnmatch.fnmatch(source.name, p) for p in patterns), (
            f"{source.relative_to(ROOT)} is not package data of {package} in setup.cfg")
