"""Reference implementations shared by the tests and the benchmarks (not tests themselves):
the same computations written with stock Keras layers, to compare ours against."""
