"""Huffman tree over a vocabulary: each word's path of inner nodes and its binary code."""

import heapq

import numpy as np


def huffman_tree(counts):
    """Builds the Huffman tree of word counts; returns each word's path and code.

    The two least frequent nodes are merged repeatedly (ties broken by creation order, so
    the tree is deterministic) into `V - 1` inner nodes; frequent words get short paths.
    Inner node `j` (0-based; the root is `V - 2`) owns one vector in hierarchical softmax.
    A word's path lists the inner nodes from the root down to its leaf; its code says at
    each of them whether the path goes left (0) or right (1).

    Args:
        counts: `(V,)` non-negative word counts, `V >= 2`.

    Returns:
        `(paths, codes, lengths)`: int32 `(V, D)` inner-node ids, int32 `(V, D)` codes in
        `{0, 1}` (both padded with 0 after the word's length), int32 `(V,)` path lengths;
        `D` is the longest path.

    Example:

    >>> paths, codes, lengths = huffman_tree([5, 1, 1, 3])
    >>> lengths.tolist()          # the frequent word 0 sits next to the root
    [1, 3, 3, 2]
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size < 2:
        raise ValueError(f"huffman_tree: counts must be 1-D with at least 2 words; "
                         f"received shape {counts.shape}")
    if np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise ValueError("huffman_tree: counts must be finite and >= 0")
    size = counts.size
    heap = [(count, i, i) for i, count in enumerate(counts)]  # (count, order, node)
    heapq.heapify(heap)
    parent = np.zeros(2 * size - 1, dtype=np.int64)
    bit = np.zeros(2 * size - 1, dtype=np.int64)
    for node in range(size, 2 * size - 1):
        count_left, _, left = heapq.heappop(heap)
        count_right, _, right = heapq.heappop(heap)
        parent[left], bit[left] = node, 0
        parent[right], bit[right] = node, 1
        heapq.heappush(heap, (count_left + count_right, node, node))
    root = 2 * size - 2
    paths, codes = [], []
    for word in range(size):
        path, code, node = [], [], word
        while node != root:
            path.append(parent[node] - size)
            code.append(bit[node])
            node = parent[node]
        paths.append(path[::-1])
        codes.append(code[::-1])
    lengths = np.array([len(p) for p in paths], dtype=np.int32)
    depth = int(lengths.max())
    padded_paths = np.zeros((size, depth), dtype=np.int32)
    padded_codes = np.zeros((size, depth), dtype=np.int32)
    for word in range(size):
        padded_paths[word, :lengths[word]] = paths[word]
        padded_codes[word, :lengths[word]] = codes[word]
    return padded_paths, padded_codes, lengths
