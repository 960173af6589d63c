"""Inverse-images benchmark: activation maximisation, saliency and weight ranking.

    python bench/inversion.py [--dataset digits]

Side by side, in one process on the same trained models and data:
- activation maximisation of all 10 classes x 3 restarts and every hidden unit, batched into
  one optimisation, against the same steps run one unit and one restart at a time (how
  render-one-objective tools such as lucent's `render_vis` are driven);
- saliency and gradient x input against captum 0.9's `Saliency` and `InputXGradient` (time
  and largest difference) on the whole test set;
- the per-example |dC/dw| ranking (torch.func vmap) against a loop of per-example backward
  passes.
"""

from __future__ import annotations

import argparse
import dataclasses

import torch
import torch.nn.functional as F
from _harness import markdown_table, timed, write_part

from fragility import data, inversion, models, train


def one_at_a_time(model, units, shape, cfg):
    for u in units:
        for r in range(cfg.restarts):
            seeded = dataclasses.replace(cfg, restarts=1, seed=cfg.seed + r)
            inversion.maximize(model, [u], shape, seeded)


def per_example_loop(model, x, y):
    totals = {k: torch.zeros_like(p) for k, p in model.named_parameters() if p.dim() > 1}
    params = dict(model.named_parameters())
    for i in range(len(x)):
        loss = F.cross_entropy(model(x[i : i + 1]), y[i : i + 1])
        grads = torch.autograd.grad(loss, [params[k] for k in totals])
        for k, g in zip(totals, grads, strict=True):
            totals[k] += g.abs()
    return totals


def captum_saliency(model, x, target):
    from captum.attr import InputXGradient, Saliency

    g = Saliency(model).attribute(x, target=target, abs=False)
    gx = InputXGradient(model).attribute(x, target=target)
    return g, gx


def bench_model(kind: str, bundle: data.DataBundle) -> list[list[str]]:
    shape = bundle.input_shape
    spec = models.default_spec(kind, shape, bundle.num_classes)
    model = train.train(spec, bundle, train.default_config(spec, bundle)).model.eval()
    hidden = [
        u
        for layer in inversion.hidden_layers(model)[:2]
        for u in inversion.units_of(model, layer, shape)
    ]
    units = [*inversion.class_units(bundle.num_classes), *hidden]
    cfg = inversion.MaximizeConfig(l2=0.001, restarts=3, start="noise")
    inversion.maximize(model, units[:2], shape, cfg)  # warm up
    _, t_batched = timed(lambda: inversion.maximize(model, units, shape, cfg), repeat=3)
    _, t_loop = timed(lambda: one_at_a_time(model, units, shape, cfg))
    n = len(units) * cfg.restarts
    rows = [
        [
            kind,
            f"maximise {n} images ({len(units)} units x 3), {cfg.steps} steps",
            "fragility, one batch",
            f"{t_batched:.3f}",
            "",
            f"{t_loop / t_batched:.0f}x faster than one at a time",
        ],
        [kind, "", "one unit, one restart at a time", f"{t_loop:.3f}", "", "peer"],
    ]
    x = bundle.x_test
    target = train.predict(model, x).argmax(1)
    ours, t_ours = timed(lambda: inversion.saliency(model, x, target), repeat=5)
    (g, gx), t_captum = timed(lambda: captum_saliency(model, x, target), repeat=5)
    diff = max(float((ours.gradient - g).abs().max()), float((ours.grad_x_input - gx).abs().max()))
    rows += [
        [
            kind,
            f"saliency + grad x input, {len(x)} images",
            "fragility",
            f"{t_ours:.4f}",
            f"{diff:.1e}",
            f"{t_captum / t_ours:.1f}x captum's speed",
        ],
        [kind, "", "captum 0.9 Saliency + InputXGradient", f"{t_captum:.4f}", "", "peer"],
    ]
    xr, yr = bundle.x_train[:500], bundle.y_train[:500]
    inversion.weight_sensitivity(model, xr[:10], yr[:10])  # warm up
    fast, t_vmap = timed(lambda: inversion.weight_sensitivity(model, xr, yr), repeat=3)
    slow, t_slow = timed(lambda: per_example_loop(model, xr, yr))
    diff = max(float((fast[k] - slow[k].detach()).abs().max()) for k in fast)
    rows += [
        [
            kind,
            "per-example sum |dC/dw|, 500 images",
            "fragility (vmap)",
            f"{t_vmap:.4f}",
            f"{diff:.1e}",
            f"{t_slow / t_vmap:.1f}x the loop's speed",
        ],
        [kind, "", "loop of per-example backward", f"{t_slow:.4f}", "", "reference"],
    ]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    bundle = data.load(args.dataset)
    rows = []
    for kind in ("mlp", "cnn"):
        rows += bench_model(kind, bundle)
        for r in rows[-6:]:
            print(r)
    table = markdown_table(
        ["model", "task", "implementation", "seconds", "max difference", "ratio"], rows
    )
    print(table)
    write_part("inversion", "Inverse images", table)


if __name__ == "__main__":
    main()
