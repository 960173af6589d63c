"""fragility scenario list | run | sweep | sensitivity | tradeoff | explain | compare | case-study:
the Tempe 2018 replay.

A scenario is a TOML file (or the name of a packaged one, such as tempe-2018); counterfactuals
change one line of it. A counterfactual's outcome is never printed without the share of the
plausible worlds (its unconfirmed inputs drawn from their distributions) in which the crash is
avoided. The `scenarios` package is imported here lazily, so the rest of the command line
never pays for it.
"""

from __future__ import annotations

import argparse
import sys

from fragility._fmt import pct
from fragility.cli.common import (
    MAX_TOTAL_RUNS,
    runs,
    seed_number,
    show_progress,
    table,
    write_outputs,
)

SEED_HELP = "seed for flicker and noise (default 0)"
HELP = "replay the Tempe 2018 crash and its counterfactuals"

WORLDS = 4096  # plausible-world runs behind a probability printed beside a single run


def _add_worlds(p: argparse.ArgumentParser, default: int = WORLDS) -> None:
    p.add_argument(
        "--runs",
        type=runs,
        default=default,
        metavar="N",
        help=f"worlds drawn for the probability over plausible worlds (default {default:,})",
    )
    p.add_argument(
        "--seed",
        type=seed_number,
        default=0,
        help="seed for the worlds, flicker and noise (default 0)",
    )


RENDERS = 200  # runs over fresh renders behind a classifier scenario's probability


def _add_renders(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--renders",
        type=runs,
        default=RENDERS,
        metavar="N",
        help="a classifier in the loop: runs with every input at its value and fresh renders "
        f"(seeds SEED to SEED + N - 1) for the probability of avoiding the crash (default "
        f"{RENDERS})",
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scenario",
        help=HELP,
        description="Run the Tempe 2018 crash as a simulation of classification flicker and lost "
        "tracking. FILE is a scenario .toml file or a packaged name (see `scenario list`).",
    )
    ssub = p.add_subparsers(dest="scenario_command", metavar="ACTION", required=True)

    lp = ssub.add_parser("list", help="the packaged scenarios and what each changes")
    lp.set_defaults(func=run_list)

    rp = ssub.add_parser("run", help="run a scenario: summary.json, trace.json, figures")
    rp.add_argument("file", metavar="FILE", help="scenario file or packaged name")
    rp.add_argument("--out", required=True, metavar="DIR", help="output folder (replaced)")
    _add_worlds(rp)
    rp.add_argument("--no-gif", action="store_true", help="skip the animated GIF (saves ~3 s)")
    _add_renders(rp)
    rp.set_defaults(func=run_run)

    sp = ssub.add_parser("sweep", help="run a scenario's [sweep]: sweep.json and heatmaps")
    sp.add_argument("file", metavar="FILE", help="scenario file with a [sweep] table")
    sp.add_argument("--out", required=True, metavar="DIR", help="output folder (replaced)")
    sp.add_argument(
        "--runs",
        type=runs,
        default=None,
        help="runs per cell (default: the file's sweep.runs)",
    )
    sp.add_argument("--seed", type=seed_number, default=None, help="seed (default: the file's)")
    sp.add_argument("--save-runs", action="store_true", help="also write every run to runs.npz")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.set_defaults(func=run_sweep)

    np_ = ssub.add_parser(
        "sensitivity",
        help="outcomes over the plausible worlds: sensitivity.json, tornado and outcome charts",
        description="Draw every unconfirmed input (U) of each scenario from its distribution (the "
        "scenario's [uncertainty] table), run every world, keep those in which the 2018 design "
        "reproduces the record, and report the probability of avoiding the crash with its 95 % "
        "Wilson interval, the impact speeds and each input's importance.",
    )
    np_.add_argument(
        "files", nargs="*", metavar="SCENARIO", help="scenario files or packaged names"
    )
    np_.add_argument(
        "--all-counterfactuals",
        action="store_true",
        help="the as-it-happened run and every packaged counterfactual",
    )
    np_.add_argument("--out", required=True, metavar="DIR", help="output folder (replaced)")
    _add_worlds(np_, default=10_000)
    np_.add_argument("--quiet", action="store_true", help="no progress bar")
    np_.set_defaults(func=run_sensitivity)

    tp = ssub.add_parser(
        "tradeoff",
        help="collisions avoided against nuisance hard braking: tradeoff.json and a figure",
        description="Run every design of a scenario's [tradeoff] table over her crossing's "
        "plausible worlds and over encounters with harmless objects that perception reports.",
    )
    tp.add_argument(
        "file",
        nargs="?",
        default="nuisance-tradeoff",
        metavar="FILE",
        help="a scenario with a [tradeoff] table (default: nuisance-tradeoff)",
    )
    tp.add_argument("--out", required=True, metavar="DIR", help="output folder (replaced)")
    tp.add_argument(
        "--runs",
        type=runs,
        default=None,
        help="worlds and encounters (default: the file's)",
    )
    tp.add_argument("--seed", type=seed_number, default=None, help="seed (default: the file's)")
    tp.set_defaults(func=run_tradeoff)

    ep = ssub.add_parser("explain", help="print a run's timeline, with certainties")
    ep.add_argument("file", metavar="FILE", help="scenario file or packaged name")
    _add_worlds(ep)
    ep.set_defaults(func=run_explain)

    cp = ssub.add_parser("compare", help="the counterfactual table against tempe-2018")
    cp.add_argument(
        "files", nargs="*", metavar="FILE", help="scenarios (default: the packaged counterfactuals)"
    )
    cp.add_argument(
        "--out", default=None, metavar="DIR", help="also write compare.json and speed.png here"
    )
    cp.add_argument(
        "--classifier",
        action="store_true",
        help="the classifier in the loop: its fixes against tempe-2018-classifier, each also "
        "over fresh renders (and fixes.png with --out)",
    )
    _add_worlds(cp)
    _add_renders(cp)
    cp.set_defaults(func=run_compare)

    kp = ssub.add_parser(
        "case-study",
        help="write the ethics-course case study: the page, a handout, role-play briefs, notes",
        description="Write the Tempe 2018 case study for an ethics course into DIR: index.html "
        "(the case, every fact with its certainty and source), handout.html (a few printed "
        "pages for students), roles.html (role-play briefs, one page each), instructor.html "
        "(lesson plans, what good answers contain; instructor audience only), figures/*.png, "
        "facts.json and metrics.json. Every counterfactual outcome is the share of plausible "
        "worlds in which the crash is avoided (as `scenario sensitivity` reports it), and the "
        "false-alarm trade-off is run on the same worlds.",
    )
    kp.add_argument("--out", required=True, metavar="DIR", help="output folder (replaced)")
    kp.add_argument(
        "--audience",
        choices=("students", "instructor"),
        default="instructor",
        help="students: no instructor notes anywhere, so the folder can be shared with a class; "
        "instructor (default): also instructor.html and teaching notes on the page",
    )
    kp.add_argument(
        "--pdf",
        action="store_true",
        help="also print handout.pdf, roles.pdf and (instructor) instructor.pdf with headless "
        "Chromium",
    )
    _add_worlds(kp)
    kp.add_argument(
        "--film-strip",
        nargs="?",
        const="tempe-2018-classifier",
        metavar="SCENARIO",
        help="also show what a trained network saw: the film strip of a classifier scenario "
        "(default tempe-2018-classifier; render seed SEED; trains its network on first use, "
        "a few minutes, then cached)",
    )
    kp.set_defaults(func=run_case_study)


def run_list(args: argparse.Namespace) -> int:
    from scenarios import counterfactuals, spec

    rows = []
    for name in spec.packaged_names():
        s = spec.load(name)
        if s.tradeoff is not None:
            axes = ", ".join(k for k, _ in s.tradeoff.axes)
            kind, what = "trade-off", f"{axes} varied alone, {len(s.tradeoff.objects)} kinds"
        elif s.sweep is not None:
            axes = " x ".join(k for k, _ in s.sweep.grid) or "Monte Carlo"
            kind, what = "sweep", f"{axes}, {s.sweep.runs:,} run(s) per cell"
        elif s.changes:
            kind, what = "counterfactual", counterfactuals.change_text(s)
        else:
            kind, what = "scenario", s.title
        rows.append([name, kind, what])
    print(table(rows, ["name", "kind", "what it is or changes"]))
    return 0


def run_run(args: argparse.Namespace) -> int:
    from fragility._io import atomic_dir, to_json
    from fragility.figures import to_png
    from scenarios import figures, spec, tempe2018
    from scenarios.simulate import simulate

    s = spec.load(args.file)
    network = _network(s, args)
    result = simulate(s, seed=args.seed)
    worlds = _worlds(s, args, result)
    runs = {s.name: result}
    if s.extends:  # the run it is a counterfactual of, for the speed plot
        root = spec.load(s.extends[-1])
        runs = {root.name: simulate(root, seed=args.seed), **runs}
    summary = {
        **result.summary.to_dict(),
        "title": s.title,
        "seed": args.seed,
        "changes": [{"key": k, "was": a, "now": b} for k, a, b in s.changes],
        "inputs": {
            k: {"value": spec.jsonable(s.value(k)), **p.to_dict()}
            for k, p in sorted(s.provenance.items())
        },
        "certainty_letters": tempe2018.CERTAINTY,
        "plausible_worlds": worlds.to_dict() if worlds else None,
    }
    figs, seen, renders = {}, None, None
    if network is not None:
        from scenarios import camera, film

        seen = camera.seen(result, args.seed)
        renders = camera.over_renders(s, args.renders, args.seed, progress=show_progress(args))
        summary["classifier"] = {
            "network": network.to_dict(),
            "class_changes": seen.class_changes,
            "renders": renders.to_dict(),
        }
        figs = {
            "film_strip": film.film_strip(seen, result),
            "class_probabilities": film.class_probabilities(seen, result),
        }
    trace = {
        "clock": "seconds relative to the record's moment of impact (t = 0)",
        "step_s": s.world.step_s,
        "steps": [r.to_dict() for r in result.trace],
    }
    with atomic_dir(args.out) as tmp:
        (tmp / "summary.json").write_text(to_json(summary))
        (tmp / "trace.json").write_text(to_json(trace))
        (tmp / "timeline.png").write_bytes(to_png(figures.timeline_strip(result)))
        (tmp / "birdseye.png").write_bytes(to_png(figures.birdseye(result)))
        (tmp / "speed.png").write_bytes(to_png(figures.speed_distance(runs)))
        if not args.no_gif:
            (tmp / "birdseye.gif").write_bytes(figures.animation_gif(result))
        if seen is not None:
            (tmp / "seen.json").write_text(to_json(seen.to_dict()))
        for name, fig in figs.items():
            (tmp / f"{name}.png").write_bytes(to_png(fig))
    sm = result.summary
    print(f"{s.name}: {sm.outcome} (this run)")
    if renders is not None:
        print(
            f"{network.name} (test accuracy {pct(network.test_accuracy)}): the class changed "
            f"{seen.class_changes} times in this run; over fresh renders: {renders.headline()}, "
            f"{renders.class_changes:.1f} class changes and {renders.resets:.1f} track resets "
            "per run"
        )
    if worlds:
        print(f"over the plausible worlds: {worlds.headline()}")
    print(_events_line(sm))
    print(f"track resets {sm.continuity.resets}; speed profile: {sm.speed_profile}")
    print(f"-> {args.out}")
    return 0


def _network(s, args: argparse.Namespace):
    """A classifier in the loop's network, trained (with a progress bar) or taken from the
    model cache before the runs need it; None for other scenarios."""
    from scenarios import perception

    if not perception.costly(s):
        return None
    from scenarios import classifier

    return classifier.network(s.perception.classifier, progress=show_progress(args))


def _worlds(s, args: argparse.Namespace, single):
    """The sensitivity of a counterfactual (a scenario that changes another), else None."""
    if not s.changes or not s.distributions():
        return None
    from scenarios import sensitivity

    singles = {s.name: single}
    return sensitivity.run([s], runs=args.runs, seed=args.seed, singles=singles).scenarios[0]


def _events_line(sm) -> str:
    def at(t):
        b = sm.before_impact(t)
        return "never" if b is None else f"{b:.2f} s"

    ref = "before impact" if sm.collision else "before the record's moment of impact"
    return (
        f"first detection {at(sm.first_detection_s)}, first predicted conflict "
        f"{at(sm.first_hazard_s)}, braking {at(sm.brake_onset_s)}"
        + (f" ({sm.brake_by})" if sm.brake_by else "")
        + f" {ref}"
    )


def run_sweep(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from fragility._io import atomic_dir, to_json
    from fragility.errors import ConfigError
    from fragility.figures import to_png
    from scenarios import figures, spec
    from scenarios.sweep import sweep

    s = spec.load(args.file)
    if s.sweep is None:
        raise ConfigError(
            f"{args.file} has no [sweep] table; add one (see `fragility scenario "
            "list` for sweep files) or use `fragility scenario run`"
        )
    cells = s.sweep.cells
    per_cell = args.runs or s.sweep.runs
    if cells * per_cell > MAX_TOTAL_RUNS:
        raise ConfigError(
            f"{cells:,} cells x {per_cell:,} runs is more than {MAX_TOTAL_RUNS:,} runs in all; "
            "lower --runs"
        )
    t0 = time.perf_counter()
    result = sweep(s, runs=args.runs, seed=args.seed, progress=show_progress(args))
    seconds = time.perf_counter() - t0
    with atomic_dir(args.out) as tmp:
        (tmp / "sweep.json").write_text(to_json({**result.to_dict(), "seconds": seconds}))
        (tmp / "sweep.png").write_bytes(to_png(figures.sweep_figure(result)))
        if args.save_runs:
            with open(tmp / "runs.npz", "wb") as fh:
                np.savez_compressed(
                    fh,
                    **{
                        f"cell{i}_{k}": v
                        for i, c in enumerate(result.cells)
                        for k, v in c.arrays.items()
                    },
                )
    total = result.runs_per_cell * len(result.cells)
    print(
        f"{s.name}: {total:,} runs in {seconds:.1f} s ({len(result.cells)} cell(s) x "
        f"{result.runs_per_cell:,})"
    )
    rows = []
    for c in result.cells[:60]:
        label = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in c.values.items()) or "all"
        speed = "-" if c.mean_impact_speed_mph is None else f"{c.mean_impact_speed_mph:.1f}"
        rows.append([label, pct(c.collision_probability), speed])
    print(table(rows, ["cell", "collisions", "mean impact mph"]))
    if len(result.cells) > 60:
        print(f"... {len(result.cells) - 60} more cells in sweep.json")
    print(f"-> {args.out}")
    return 0


def run_tradeoff(args: argparse.Namespace) -> int:
    import time

    from fragility.errors import ConfigError
    from scenarios import figures, spec, tradeoff

    s = spec.load(args.file)
    if s.tradeoff is None:
        raise ConfigError(
            f"{args.file} has no [tradeoff] table; use the packaged nuisance-tradeoff or add one"
        )
    t0 = time.perf_counter()
    result = tradeoff.run(s, runs=args.runs, seed=args.seed)
    seconds = time.perf_counter() - t0
    write_outputs(
        args.out, "tradeoff.json", result.to_dict(), {"tradeoff": figures.tradeoff_curves(result)}
    )
    rows = []
    for p in result.points:
        lo, hi = p.hard_interval
        rows.append([p.label, p.avoided.text(), f"{p.hard_per_1000_km:.1f} ({lo:.1f}-{hi:.1f})"])
    print(
        table(
            rows,
            [
                "design",
                "her crash avoided, plausible worlds",
                f"nuisance hard braking per 1,000 km (>= {result.hard_brake_mps2:g} m/s²)",
            ],
        )
    )
    print(
        "rates of harmless objects are assumptions (U); 95 % intervals: Wilson for the crash, "
        "normal approximation for the events"
    )
    print(
        f"{len(result.points)} designs x ({result.runs:,} worlds + {result.runs:,} encounters "
        f"per kind) in {seconds:.1f} s"
    )
    print(f"-> {args.out}")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    from scenarios import explain, spec
    from scenarios.simulate import simulate

    s = spec.load(args.file)
    result = simulate(s, seed=args.seed)
    print(explain.text(result, plausible=_worlds(s, args, result)))
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from scenarios import counterfactuals, figures, perception, sensitivity, spec

    cf = counterfactuals
    default = cf.CLASSIFIER_FIXES if args.classifier else cf.COUNTERFACTUALS
    base_name = cf.CLASSIFIER_BASE if args.classifier else cf.BASE
    names = args.files or default
    for name in (base_name, *names):
        _network(spec.load(name), args)
    base, runs = cf.run_all(names, seed=args.seed, base=base_name)
    worlds = sensitivity.run(
        [r.spec for r in runs],
        runs=args.runs,
        seed=args.seed,
        singles={r.spec.name: r for r in runs},
    )
    plausible = {s.name: s for s in worlds.scenarios}
    renders = _renders([base, *runs], args)
    rows = cf.compare(base, runs, plausible, renders)
    line = f"{base.spec.name}: {base.summary.outcome} (this run)"
    if base.spec.name in renders:
        line += f"; over fresh renders: {renders[base.spec.name].headline()}"
    print(line if args.classifier else f"as it happened: {base.summary.outcome}")
    header = ["scenario", "change", "this run (inputs at their values)"]
    if renders:
        header.append(f"avoided, {args.renders:,} renders")
    header.append("avoided, plausible worlds")
    body = []
    for r in rows:
        cells = [r.name, r.change, r.verdict]
        if renders:
            cells.append(r.renders["avoided"]["text"] if r.renders else "-")
        cells.append(r.plausible["avoided"]["text"] if r.plausible else "-")
        body.append(cells)
    print(table(body, header))
    if renders:
        print(
            f"Renders: every input at its value, the network's crops rendered afresh (seeds "
            f"{args.seed} to {args.seed + args.renders - 1}); plausible worlds: the renders too."
        )
    print(_worlds_note(worlds))
    if args.out:
        all_runs = {base.spec.name: base, **{r.spec.name: r for r in runs}}
        figs = {"speed": figures.speed_distance(all_runs)}
        costly = [r for r in all_runs.values() if perception.costly(r.spec)]
        if costly:
            from scenarios import camera, film

            figs["fixes"] = film.fixes(
                {r.spec.title: (camera.seen(r, args.seed), r) for r in costly}
            )
        write_outputs(
            args.out,
            "compare.json",
            {
                "base": base.summary.to_dict(),
                "base_renders": renders[base.spec.name].to_dict()
                if base.spec.name in renders
                else None,
                "counterfactuals": rows,
                "plausible_worlds": {
                    "runs": worlds.runs,
                    "seed": worlds.seed,
                    "record_check": worlds.record_check.to_dict(),
                    "plausible": {k: v.to_dict() for k, v in worlds.plausible.items()},
                },
            },
            figs,
        )
        print(f"-> {args.out}")
    return 0


def _renders(results, args: argparse.Namespace) -> dict:
    """Each classifier-in-the-loop scenario over fresh renders: name -> RenderOutcomes."""
    from scenarios import camera, perception

    return {
        r.spec.name: camera.over_renders(r.spec, args.renders, args.seed)
        for r in results
        if perception.costly(r.spec)
    }


def _worlds_note(worlds) -> str:
    kept = "; ".join(
        f"{p.k:,} of {p.n:,} reproduce the record with {name}"
        for name, p in worlds.plausible.items()
    )
    return (
        f"Plausible worlds: every unconfirmed input drawn from its distribution ({worlds.runs:,} "
        f"worlds, seed {worlds.seed}); {kept}. Percentages with 95 % Wilson intervals; see "
        "`fragility scenario sensitivity`."
    )


def run_sensitivity(args: argparse.Namespace) -> int:
    import time

    from fragility.errors import ConfigError
    from scenarios import counterfactuals, figures, sensitivity

    names = list(args.files)
    if args.all_counterfactuals:
        names = [counterfactuals.BASE, *counterfactuals.COUNTERFACTUALS, *names]
    if not names:
        raise ConfigError(
            "name a scenario (e.g. persistent-tracking) or give --all-counterfactuals"
        )
    t0 = time.perf_counter()
    result = sensitivity.run(names, runs=args.runs, seed=args.seed, progress=show_progress(args))
    seconds = time.perf_counter() - t0
    write_outputs(
        args.out,
        "sensitivity.json",
        result.to_dict(),
        {"tornado": figures.tornado(result), "outcomes": figures.outcome_histograms(result)},
    )
    rows = []
    for r in result.scenarios:
        top = r.importance[0] if r.importance else None
        rows.append(
            [
                r.name,
                r.single["outcome"],
                r.avoided.text(),
                "-" if top is None else f"{top.key} ({top.index:.2f})",
            ]
        )
    print(
        table(
            rows,
            ["scenario", "this run", "avoided, plausible worlds", "most important input (S1)"],
        )
    )
    print(_worlds_note(result))
    for o in result.outside_record:
        print(
            f"outside record [{o['certainty']}] {o['claim']} -- here ({o['scenario']}, "
            f"{o['question']}): {o['ours']['text']}"
        )
    print(f"{len(result.scenarios)} scenario(s) x {result.runs:,} worlds in {seconds:.1f} s")
    print(f"-> {args.out}")
    return 0


def run_case_study(args: argparse.Namespace) -> int:
    import time

    from scenarios import case_study

    t0 = time.perf_counter()
    strip = None
    if args.film_strip is not None:
        from scenarios import film

        strip = film.case_study_block(args.film_strip, seed=args.seed, progress=sys.stderr.isatty())
    case = case_study.build(
        runs=args.runs, seed=args.seed, audience=args.audience, film_strip=strip
    )
    written = case_study.write(case, args.out, pdf=args.pdf)
    seconds = time.perf_counter() - t0
    pages = [str(p) for p in written if p.suffix in (".html", ".pdf")]
    figures = sum(p.parts[0] == "figures" for p in written)
    kept = case.metrics["index"]["how-sure"]["plausible"]
    print(f"case study ({args.audience}): {', '.join(pages)}, {figures} figures")
    print(
        f"outcomes over {kept['k']:,} plausible worlds of {kept['n']:,} drawn (seed {args.seed}), "
        f"with the false-alarm trade-off on the same worlds; {seconds:.1f} s"
    )
    print(f"-> {args.out}")
    return 0
