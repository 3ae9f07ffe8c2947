"""Floating-point precision of training: Keras mixed-precision policies, chosen per run.

`resolve_precision("auto")` picks `mixed_bfloat16` on a CPU with AMX or AVX512_BF16 (bf16 matrix
units: a VGG-19 step runs ~4.6x faster than float32 on this project's CPUs), `mixed_float16`
on a GPU, and `float32` otherwise. Under a mixed policy the layers compute in 16 bits and
keep float32 weights; the Trainer computes losses and metrics in float32 and wraps the
optimizer in `keras.optimizers.LossScaleOptimizer` for float16; exports are float32 models
(`float32_copy`), so their signatures and numerics do not depend on the training precision.
"""

import keras

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")


def cpu_bf16_support():
    """The CPU feature that speeds up bf16 matmuls (`"amx_bf16"`, `"avx512_bf16"`) or None."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo
                          if line.startswith("flags")), [])
    except OSError:
        return None
    for feature in ("amx_bf16", "avx512_bf16"):
        if feature in flags:
            return feature
    return None


def resolve_precision(name):
    """`(policy name, reason)` for the precision `name`; `auto` is resolved for this machine."""
    if name not in PRECISIONS:
        raise ValueError(f"`precision` {name!r}: expected one of {', '.join(PRECISIONS)}")
    if name != "auto":
        return name, "as asked"
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16", "auto: a GPU is present"
    feature = cpu_bf16_support()
    if feature:
        return "mixed_bfloat16", f"auto: the CPU has {feature}"
    return "float32", "auto: no GPU and no bf16 matrix unit on the CPU"


def set_precision(policy):
    """Sets the global Keras dtype policy (call before building the model)."""
    keras.mixed_precision.set_dtype_policy(policy)


def float32_copy(model):
    """A float32 copy of `model` with the same weights (for export and float32 evaluation).

    The model is rebuilt from its config under the float32 policy, so every layer computes
    in float32, and its weights are copied. A float32 model is returned as it is.
    """
    if all(layer.dtype_policy.name == "float32" for layer in model._flatten_layers()):
        return model
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("float32")
    try:
        copy = model.__class__.from_config(_float32_config(model.get_config()))
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    copy.set_weights(model.get_weights())
    return copy


def _float32_config(config):
    """`config` with every layer's dtype policy replaced by float32 (nested configs too)."""
    if isinstance(config, dict):
        return {key: ("float32" if key == "dtype" and _is_policy(value) else
                      _float32_config(value)) for key, value in config.items()}
    if isinstance(config, (list, tuple)):
        return type(config)(_float32_config(item) for item in config)
    return config


def _is_policy(value):
    if isinstance(value, str):
        return value.startswith("mixed_") or value in ("float16", "bfloat16")
    return isinstance(value, dict) and "DTypePolicy" in str(value.get("class_name", ""))
