"""The package imports cleanly and exposes its public names."""

import subprocess
import sys


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
