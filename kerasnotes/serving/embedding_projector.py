"""Word vectors for TensorBoard's projector (the Projector tab): PCA, t-SNE, nearest words."""

import os


def write_projector(run_dir, vectors, tokens):
    """Writes `run_dir/projector/`: vectors.tsv, metadata.tsv and projector_config.pbtxt.

    `vectors.tsv` holds one row of `vectors` per line, `metadata.tsv` the token of each row
    (tabs replaced by spaces). Returns the folder; `tensorboard --logdir run_dir` shows it.

    Example:

    >>> write_projector("runs/word2vec/skipgram-negative", model.word_vectors.numpy(),
    ...                 vocabulary.tokens)
    'runs/word2vec/skipgram-negative/projector'
    """
    from tensorboard.plugins import projector

    folder = os.path.join(run_dir, "projector")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vectors.tsv"), "w") as f:
        for row in vectors:
            f.write("\t".join(f"{x:.6g}" for x in row) + "\n")
    with open(os.path.join(folder, "metadata.tsv"), "w", encoding="utf-8") as f:
        for token in tokens:
            f.write(token.replace("\t", " ") + "\n")
    config = projector.ProjectorConfig()
    embedding = config.embeddings.add()
    embedding.tensor_name = "word_vectors"
    embedding.tensor_path = "vectors.tsv"
    embedding.metadata_path = "metadata.tsv"
    projector.visualize_embeddings(folder, config)
    return folder
