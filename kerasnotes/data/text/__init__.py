"""Text data: corpora, vocabularies, sequence sampling, and word2vec subsampling, pairs and negatives."""
