"""gensim and fastText, the peers of `python -m benchmarks.word2vec_throughput`, in their own
process (`python -m benchmarks.peers.word2vec_peers --worker word2vec --threads N`, started
by that benchmark with `--peer-python`, so that they need not be in the project's venv).

Both train on the same sentences as kerasnotes: the PTB file's lines, `<unk>` removed.

- gensim 4.4: `Word2Vec(sg=1 (0: CBOW, cbow_mean=1), negative=5 (hs=1, negative=0),
  window=5, sample=t, alpha=lr, min_alpha=1e-4, min_count=5, workers=threads)`; the words
  counted are the words kept after subsampling that `Word2Vec.train` returns ("effective
  words"), over the wall time of `train` (the vocabulary is built before, untimed).
- fastText 0.9.2 (pip `fasttext-wheel`): `train_unsupervised(model="skipgram"|"cbow",
  loss="ns"|"hs", dim=100, ws=5, neg=5, t=t, minCount=5, minn=0, maxn=0, bucket=0,
  lr=lr, epoch=epochs, thread=threads)`: plain word vectors, no subwords (`minn 0 maxn 0`;
  `bucket 0` leaves out the unused hash rows). fastText reports raw words/s: its
  "words/sec/thread" (every token it reads, discarded or not, including one end-of-line
  token per line, over its training time, vocabulary pass excluded) times the threads. The
  words it keeps after subsampling are not reported, so they are its raw rate times the
  fraction it keeps in expectation: `sum_w c_w min(1, sqrt(t / f_w) + t / f_w) / sum_w c_w`
  over its own vocabulary counts (word2vec.c's and gensim's formula, which fastText uses
  too). fastText differs in one setting it does not expose: its noise words are drawn from
  `count ** 0.5` (word2vec.c, gensim and kerasnotes: `count ** 0.75`).

Example (what the benchmark sends, one JSON line each):

>>> worker = harness.Worker("benchmarks.peers.word2vec_peers", "word2vec", threads=2)
>>> worker(op="setup", corpus="../shared/data/ptb/ptb.train.txt")
>>> worker(op="train", side="gensim", model="skipgram", loss="negative", epochs=2, lr=0.1,
...        seed=0)
"""

import argparse
import contextlib
import os
import re
import tempfile
import time

import numpy as np

from benchmarks import harness


def read_sentences(path):
    """The corpus' lines as token lists, `<unk>` removed, empty lines skipped."""
    with open(path, encoding="utf-8") as file:
        sentences = [[t for t in line.split() if t != "<unk>"] for line in file]
    return [s for s in sentences if s]


@contextlib.contextmanager
def captured_stderr():
    """What C++ code writes to file descriptor 2 in the body, as `holder[0]` after it."""
    holder = []
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield holder
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            holder.append(sink.read().decode("utf-8", "replace"))


class Peers:
    """The sentences, a text copy for fastText, and the last model of each side."""

    def __init__(self, corpus, threads, t=1e-4):
        self.sentences = read_sentences(corpus)
        self.threads, self.t, self.models, self.vectors = threads, t, {}, {}
        self.text = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
        with self.text:
            self.text.writelines(" ".join(s) + "\n" for s in self.sentences)
        # fastText's token count: every word of the file plus one end-of-line token per line.
        self.fasttext_tokens = sum(map(len, self.sentences)) + len(self.sentences)

    def close(self):
        os.unlink(self.text.name)

    def train(self, side, model, loss, epochs, lr, seed):
        """`{"words": kept words/s, "raw": raw words/s, "seconds": s, "note": str}`."""
        return (self.gensim if side == "gensim" else self.fasttext)(model, loss, epochs, lr,
                                                                    seed)

    def gensim(self, model, loss, epochs, lr, seed):
        from gensim.models import Word2Vec

        hierarchical = loss == "hierarchical"
        w2v = Word2Vec(vector_size=100, sg=int(model == "skipgram"), cbow_mean=1,
                       negative=0 if hierarchical else 5, hs=int(hierarchical), window=5,
                       sample=self.t, alpha=lr, min_alpha=1e-4, min_count=5,
                       workers=self.threads, seed=seed)
        w2v.build_vocab(self.sentences)
        start = time.perf_counter()
        effective, raw = w2v.train(self.sentences, total_examples=len(self.sentences),
                                   epochs=epochs)
        seconds = time.perf_counter() - start
        self.models["gensim"] = lambda word, k: [w for w, _ in w2v.wv.most_similar(word,
                                                                                   topn=k)]
        self.vectors["gensim"] = lambda word: w2v.wv[word] if word in w2v.wv else None
        return {"words": effective / seconds, "raw": raw / seconds, "seconds": seconds,
                "note": f"gensim: {effective} words in {seconds:.2f} s"}

    def fasttext(self, model, loss, epochs, lr, seed):
        """(fastText 0.9.2 takes no seed: its threads seed their generators by thread id.)"""
        import fasttext

        start = time.perf_counter()
        with captured_stderr() as log:
            ft = fasttext.train_unsupervised(
                self.text.name, model=model, loss="hs" if loss == "hierarchical" else "ns",
                dim=100, ws=5, neg=5, t=self.t, minCount=5, minn=0, maxn=0, bucket=0, lr=lr,
                epoch=epochs, thread=self.threads, verbose=2)
        wall = time.perf_counter() - start
        rates = re.findall(r"words/sec/thread:\s*([0-9]+)", log[0])
        if not rates:
            raise RuntimeError(f"fastText printed no words/sec/thread:\n{log[0][-2000:]}")
        raw_rate = float(rates[-1]) * self.threads  # training only, every token read
        words, counts = ft.get_words(include_freq=True)
        counts = np.asarray(counts, np.float64)
        frequency = counts / self.fasttext_tokens
        keep = np.minimum(1.0, np.sqrt(self.t / frequency) + self.t / frequency)
        kept_fraction = float((counts * keep).sum() / counts.sum())
        self.models["fasttext"] = lambda word, k: [w for _, w in ft.get_nearest_neighbors(
            word, k=k)]
        known = set(words)
        self.vectors["fasttext"] = lambda word: ft.get_word_vector(word) if word in known \
            else None
        seconds = epochs * counts.sum() / raw_rate
        return {"words": raw_rate * kept_fraction, "raw": raw_rate, "seconds": seconds,
                "note": f"fastText: {raw_rate:,.0f} raw words/s (its words/sec/thread x "
                        f"{self.threads}) x {kept_fraction:.4f} kept in expectation; training "
                        f"{seconds:.2f} s, {wall:.2f} s with its vocabulary pass"}

    def huffman_tree(self):
        """gensim's Huffman tree of these sentences (min count 5, as it trains):
        `{word: [inner nodes from the root, codes]}`."""
        from gensim.models import Word2Vec

        w2v = Word2Vec(vector_size=100, hs=1, negative=0, min_count=5)
        w2v.build_vocab(self.sentences)
        return {word: [w2v.wv.get_vecattr(word, "point").tolist(),
                       w2v.wv.get_vecattr(word, "code").tolist()]
                for word in w2v.wv.index_to_key}

    def neighbours(self, side, words, k=5):
        return {word: self.models[side](word, k) for word in words}

    def cosines(self, side, pairs):
        """The cosine of each pair's vectors in `side`'s last model (None: a word unknown)."""
        result = []
        for a, b in pairs:
            u, v = self.vectors[side](a), self.vectors[side](b)
            result.append(None if u is None or v is None else
                          float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-12)))
        return result


def word_pairs():
    """WordSim-353 and SimLex-999 as gensim ships them (its test data): `{name: [[a, b,
    human score], ...]}`, words lower-cased."""
    from gensim.test.utils import datapath

    sets = {}
    for name, file in (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt")):
        with open(datapath(file), encoding="utf-8") as f:
            rows = [line.rstrip("\n").split("\t") for line in f if not line.startswith("#")]
        sets[name] = [[a.lower(), b.lower(), float(score)] for a, b, score, *_ in rows]
    return sets


def main():
    parser = argparse.ArgumentParser(description="the gensim/fastText worker of "
                                                 "benchmarks.word2vec_throughput")
    parser.add_argument("--worker", choices=["word2vec"], required=True)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()
    peers = []

    def setup(corpus):
        peers.append(Peers(corpus, args.threads))
        return {"sentences": len(peers[-1].sentences)}

    try:
        harness.serve({"setup": setup,
                       "train": lambda **request: peers[-1].train(**request),
                       "neighbours": lambda **request: peers[-1].neighbours(**request),
                       "cosines": lambda **request: peers[-1].cosines(**request),
                       "huffman_tree": lambda: peers[-1].huffman_tree(),
                       "word_pairs": word_pairs})
    finally:
        for peer in peers:
            peer.close()


if __name__ == "__main__":
    main()
