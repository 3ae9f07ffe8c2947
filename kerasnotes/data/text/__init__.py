"""Text data: corpora, vocabularies, sequence sampling, word2vec subsampling and negatives."""
