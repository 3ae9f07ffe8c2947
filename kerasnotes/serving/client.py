"""Calling an export as a client does (the apps' `predict` subcommands).

`serve_one(export_path, what, **inputs)` loads the SavedModel, calls its `serving_default`
on a batch of one and returns that row's outputs as NumPy arrays; when the export refuses
the input (an `InvalidArgumentError`: not an image, an empty image), it raises a `ValueError`
`WHAT: the model could not read this image (REASON)`, REASON being the one informative line
of the TF error (the failed assertion's message, or the decoder's).

Example:

>>> outputs = serve_one("saved_models/ssd/1", "photo.jpg",
...                     image_bytes=tf.constant([open("photo.jpg", "rb").read()]))
>>> outputs["num_detections"]
"""

import tensorflow as tf


def error_line(message):
    """The informative line of a TF runtime error message (the assertion or the decoder's)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if "assertion failed:" in line:
            return line.split("assertion failed:", 1)[1].strip().strip("[]")
    useful = [line for line in lines if not line.endswith(":") and "Detected at node" not in line]
    return useful[0] if useful else message


def serve_one(export_path, what, **inputs):
    """`serving_default(**inputs)` of the export, first row of every output, as NumPy."""
    serve = tf.saved_model.load(export_path).signatures["serving_default"]
    try:
        outputs = serve(**inputs)
    except tf.errors.InvalidArgumentError as error:
        reason = error_line(error.message or str(error))
        raise ValueError(f"{what}: the model could not read this image ({reason})") from None
    return {name: value.numpy()[0] for name, value in outputs.items()}
