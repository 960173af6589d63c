"""Training benchmark: time to train and test accuracy of the seed MLP and the CNN.

    python bench/train.py [--datasets digits,fashion-mnist]

Side by side with scikit-learn's MLPClassifier of the same shape (16, 16 logistic units),
the peer a user would otherwise reach for. Targets on 2 cores: seed MLP >= 95 % on digits in
under 5 s and >= 84 % on Fashion-MNIST in under 15 s; CNN >= 97 % on digits and >= 90 % on
Fashion-MNIST in under 90 s.
"""

from __future__ import annotations

import argparse
import time
import warnings

from _harness import markdown_table, timed, write_part

from fragility import data, models, train

TARGETS = {  # (dataset, model): (accuracy, seconds)
    ("digits", "mlp"): (0.95, 5),
    ("fashion-mnist", "mlp"): (0.84, 15),
    ("digits", "cnn"): (0.97, 90),
    ("fashion-mnist", "cnn"): (0.90, 90),
}


def sklearn_mlp(bundle: data.DataBundle) -> tuple[float, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x = bundle.x_train.flatten(1).numpy()
    xt = bundle.x_test.flatten(1).numpy()
    clf = MLPClassifier((16, 16), activation="logistic", max_iter=200, random_state=0)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, bundle.y_train.numpy())
    seconds = time.perf_counter() - t0
    return float((clf.predict(xt) == bundle.y_test.numpy()).mean()), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="digits,fashion-mnist")
    args = ap.parse_args()
    rows = []
    for name in args.datasets.split(","):
        bundle = data.load(name)
        for kind in ("mlp", "cnn"):
            spec = models.default_spec(kind, bundle.input_shape, bundle.num_classes)
            config = train.default_config(spec, bundle)

            def run(spec=spec, config=config, bundle=bundle):
                net = models.build(spec, seed=config.seed)
                return train.fit(net, bundle, config)

            result, seconds = timed(run)
            acc_target, s_target = TARGETS[(name, kind)]
            met = result.test_accuracy >= acc_target and seconds < s_target
            rows.append(
                [
                    name,
                    f"fragility {spec.name}",
                    f"{config.epochs} x batch {config.batch_size}",
                    f"{100 * result.test_accuracy:.2f} %",
                    f"{seconds:.1f}",
                    f">= {100 * acc_target:.0f} % in < {s_target} s: {'met' if met else 'NOT met'}",
                ]
            )
            print(rows[-1])
        acc, seconds = sklearn_mlp(bundle)
        rows.append(
            [
                name,
                "scikit-learn MLPClassifier (16, 16) logistic",
                "adam, up to 200 epochs",
                f"{100 * acc:.2f} %",
                f"{seconds:.1f}",
                "peer",
            ]
        )
        print(rows[-1])
    table = markdown_table(
        ["dataset", "model", "training", "test accuracy", "seconds", "target"], rows
    )
    print(table)
    write_part("train", "Training", table)


if __name__ == "__main__":
    main()
