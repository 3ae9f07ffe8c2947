"""Test accuracy of LeNet and ResNet-18 on Fashion-MNIST, next to d2l's published figures.

    python -m benchmarks.fashion_mnist_accuracy --data idx:DIR            # the IDX files
    python -m benchmarks.fashion_mnist_accuracy --data fashion_mnist --data-dir TFDS_DIR
    python -m benchmarks.fashion_mnist_accuracy                  # no real data: synthetic
    python -m benchmarks.fashion_mnist_accuracy --epochs 1 --resnet-epochs 1 --num-train 512 \
        --resnet-width-divisor 16 --resnet-resize 32                        # smoke run

Trains through apps.classify (same code path as users): LeNet, the notes' sigmoid version,
10 epochs with d2l's setting (SGD, lr 0.9, batch 256); ResNet-18 (width divided by
--resnet-width-divisor, input --resnet-resize) with Adam. d2l reports about 0.8 test accuracy
for that LeNet after 10 epochs and about 0.9 for ResNet-18. Without real Fashion-MNIST the
script says so and reports the accuracy on the embedded synthetic glyphs instead.
"""

import argparse
import tempfile

from apps import classify

D2L_FIGURES = {"lenet": 0.8, "resnet18": 0.9}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--resnet-epochs", type=int, default=5)
    parser.add_argument("--resnet-width-divisor", type=int, default=4)
    parser.add_argument("--resnet-resize", type=int, default=64)
    parser.add_argument("--num-train", type=int, default=None)
    args = parser.parse_args()
    if args.data == "synthetic":
        print("No real Fashion-MNIST given (--data idx:DIR or --data fashion_mnist --data-dir): "
              "reporting accuracy on the embedded synthetic glyphs instead.")
    common = ["--data", args.data, "--verbose", "2", "--no-resume"]
    if args.data_dir:
        common += ["--data-dir", args.data_dir]
    if args.num_train:
        common += ["--num-train", str(args.num_train)]
    runs = {
        "lenet": ["--model", "lenet", "--optimizer", "sgd", "--lr", "0.9", "--epochs",
                  str(args.epochs)],
        "resnet18": ["--model", "resnet18", "--optimizer", "adam", "--lr", "0.001", "--epochs",
                     str(args.resnet_epochs), "--width-divisor", str(args.resnet_width_divisor),
                     "--resize", str(args.resnet_resize), "--batch-size", "128"],
    }
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, flags in runs.items():
            metrics, _ = classify.main([*common, *flags, "--logdir", f"{scratch}/{name}",
                                        "--export-dir", f"{scratch}/export"])
            results[name] = metrics["test_accuracy"]
    print()
    print(f"data: {args.data}")
    for name, accuracy in results.items():
        print(f"{name:9s} test accuracy {accuracy:.4f}   (d2l on Fashion-MNIST: "
              f"~{D2L_FIGURES[name]})   flags: {' '.join(runs[name])}")


if __name__ == "__main__":
    main()
