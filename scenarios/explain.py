"""A run's timeline as readable text, with the certainty of every input.

Pure: builds strings from a RunResult; the command line prints them. Simulated events are
marked [sim]; inputs carry the certainty of the fact they come from (Q, P, D, S, U). Where she
is (her lane) is the simulation's, from lane widths that are assumptions, so it is marked as
simulated even on a line whose class is the record's. For the as-it-happened scenario the
record's own timeline is interleaved, marked "record", so the two can be read side by side;
for a counterfactual it is printed apart, on the record's clock, because the record's events
(the impact, the suppression) did not happen in that run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from scenarios import perception, planner, tempe2018
from scenarios.simulate import RunResult, TraceRow
from scenarios.spec import MPH, ScenarioSpec
from scenarios.world import Road


@dataclass(frozen=True)
class Event:
    t_s: float  # clock time
    certainty: str  # Q/P/D/U for inputs and the record, "sim" for what the simulation did
    text: str
    record: bool = False


def _path_text(row: TraceRow) -> str:
    p = row.prediction
    kind = planner.KINDS[p.kind]
    if kind == "none":
        return "nothing tracked"
    where = {
        "static": "static",
        "lane": f"travelling north along its lane at {p.vx:.1f} m/s",
        "motion": f"moving at ({p.vx:+.2f}, {p.vy:+.2f}) m/s (its tracked velocity)",
        "reach": f"may cross either way at up to {p.grow:.1f} m/s",
    }[kind]
    tau = row.plan.conflict_in_s
    on = "not on the SUV's path" if math.isinf(tau) else f"ON THE SUV'S PATH in {tau:.1f} s"
    return f"predicted {where}; {on}"


def _mode_text(row: TraceRow, spec: ScenarioSpec) -> str:
    mode = planner.MODES[row.plan.mode]
    pl = spec.planner
    return {
        "cruise": "planner: back to cruising",
        "suppress": f"planner: collision judged imminent; {pl.suppression_s:g} s of action "
        "suppression begins",
        "avoid": f"planner: brakes to stop short, at {row.plan.decel:.1f} m/s²",
        "slowdown": f"planner: the crash cannot be avoided within {planner.brake_limit(spec):g} "
        f"m/s²; gradual slowdown at {row.plan.decel:.1f} m/s²"
        + ("; audible alert" if row.plan.alert else ""),
        "mitigate": f"planner: emergency braking at {row.plan.decel:.1f} m/s² to mitigate"
        + ("; audible alert" if row.plan.alert else ""),
        "disengaged": "ADS disengaged by the operator's takeover",
    }[mode]


def _detection_events(spec: ScenarioSpec, rows: list[TraceRow]) -> list[Event]:
    out, last_cls = [], None
    road = Road.from_spec(spec)
    for row in rows:
        d = row.detection
        if d is None or d.cls == last_cls:
            continue
        last_cls = d.cls
        cert = "sim"
        if spec.perception.mode == "replay" and not spec.perception.classify_as:
            e = spec.perception.events[perception.replay_index(spec, row.t_s)]
            cert = e.certainty if abs(e.t_s - row.t_s) < 1e-9 else "sim"
        tr = row.track
        if tr.frames == 1:
            hist = f"track {tr.id} starts with no history" + (
                " (history reset)" if tr.id > 1 else ""
            )
        else:
            hist = f"track {tr.id} keeps its history ({tr.frames} frames)"
        lane = road.lane_name(d.y)
        out.append(
            Event(
                row.t_s,
                cert,
                f'{d.sensor} sees "{d.cls}"; {hist} (she is in the {lane} lane [sim: lane '
                "widths are U])",
            )
        )
    return out


def events(result: RunResult) -> list[Event]:
    """Everything that happened in the run, in time order (record rows included)."""
    spec, rows = result.spec, list(result.trace)
    out = _detection_events(spec, rows)
    prev = None
    for row in rows:
        if prev is not None:
            if row.velocity_known and not prev.velocity_known:
                tr = row.track
                out.append(
                    Event(
                        row.t_s,
                        "sim",
                        f"the tracker's velocity estimate is known: "
                        f"({tr.vx:+.2f}, {tr.vy:+.2f}) m/s",
                    )
                )
            p0, p1 = prev.prediction, row.prediction
            on0, on1 = math.isinf(prev.plan.conflict_in_s), math.isinf(row.plan.conflict_in_s)
            if row.detection is not None and (p0.kind != p1.kind or on0 != on1):
                out.append(Event(row.t_s, "sim", _path_text(row)))
            if row.plan.mode != prev.plan.mode:
                out.append(Event(row.t_s, "sim", _mode_text(row, spec)))
            o0, o1 = prev.operator, row.operator
            if math.isnan(o0.noticed_s) and not math.isnan(o1.noticed_s):
                why = (
                    "hears the alert"
                    if o1.why == "alert"
                    else (f"sees her, {row.gap_m:.0f} m ahead")
                )
                out.append(Event(row.t_s, "sim", f"operator {why}"))
            decel = spec.operator.brake_decel_mps2
            if spec.operator.attentive and o1.braking and not o0.braking:
                out.append(
                    Event(
                        row.t_s,
                        "sim",
                        f"operator brakes at {decel:g} m/s²; her braking takes over from the ADS",
                    )
                )
            elif not spec.operator.attentive:
                if o1.took_over and not o0.took_over:
                    out.append(Event(row.t_s, "sim", "operator takes the steering wheel"))
                if o1.braking and not o0.braking:
                    out.append(Event(row.t_s, "sim", f"operator brakes at {decel:g} m/s²"))
            if math.isnan(prev.aeb.triggered_s) and not math.isnan(row.aeb.triggered_s):
                out.append(Event(row.t_s, "sim", "Volvo AEB sees her in the path and triggers"))
            if row.aeb.braking and not prev.aeb.braking:
                out.append(
                    Event(row.t_s, "sim", f"Volvo AEB brakes at {spec.aeb.decel_mps2:g} m/s²")
                )
            if row.suv_v == 0 and prev.suv_v > 0:
                out.append(
                    Event(row.t_s, "sim", f"the SUV stops {row.gap_m:.1f} m short of her path")
                )
        prev = row
    s = result.summary
    if s.collision:
        out.append(Event(s.impact_time_s, "sim", f"IMPACT at {s.impact_speed_mph:.1f} mph"))
    else:
        out.append(Event(s.end_s, "sim", f"the run ends: {s.outcome}"))
    if interleaves_record(spec):
        out += record_events()
    out.sort(key=lambda e: (round(e.t_s, 9), e.record))
    return out


def interleaves_record(spec: ScenarioSpec) -> bool:
    """Whether the record's timeline belongs in this run's: only for the record itself (a file
    that extends none), never for a counterfactual."""
    return not spec.extends and not spec.changes


def record_events() -> list[Event]:
    """The record's timeline, on its own clock (t = 0: the record's moment of impact)."""
    out = []
    for r in tempe2018.TIMELINE:
        text = (
            f"record: {r.sensor} {r.classification}, {r.prediction}"
            if r.sensor != "-"
            else (f"record: {r.prediction}")
        )
        out.append(Event(-r.t_before_s, r.certainty, text, record=True))
    return out


def parameters(spec: ScenarioSpec) -> list[tuple[str, str, str, str]]:
    """(key, value, certainty, source) of every scalar parameter."""
    rows = []
    for key, prov in sorted(spec.provenance.items()):
        v = spec.value(key)
        if isinstance(v, tuple):
            continue
        rows.append((key, _value(v), prov.certainty, prov.source))
    return rows


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f"{v:g}" if isinstance(v, float) else str(v)


def text(result: RunResult, plausible=None) -> str:
    """The explanation printed by `fragility scenario explain`; plausible: the scenario's
    sensitivity over the plausible worlds (a ScenarioSensitivity), printed beside the run's
    outcome."""
    spec, s = result.spec, result.summary
    lines = [f"{spec.title} ({spec.name})"]
    if spec.description:
        lines.append(spec.description)
    if spec.changes:
        base = Path(spec.extends[0]).stem if spec.extends else ""
        lines.append(f"Changed against {base}:")
        lines += [f"  {k}: {_value(a)} -> {_value(b)}" for k, a, b in spec.changes]
    lines.append(f"Speed profile: {s.speed_profile}")
    assumed = [r for r in parameters(spec) if r[2] == "U"]
    lines.append(
        f"Unconfirmed inputs (U) this run rests on: {len(assumed)}, among them "
        + ", ".join(f"{k} = {v}" for k, v, _, _ in assumed[:6])
        + (", ..." if len(assumed) > 6 else "")
    )
    keys = "[Q P D S U] certainty of an input, [sim] what the simulation did"
    if s.collision:
        lines += ["", f"Timeline (seconds before this run's impact; {keys}):"]
        for e in events(result):
            lines.append(f"  {s.impact_time_s - e.t_s:6.2f} s  [{e.certainty:>3}]  {e.text}")
    else:
        lines += ["", f"Timeline (clock t: 0 = the record's moment of impact; {keys}):"]
        for e in events(result):
            lines.append(f"  t = {e.t_s:+6.2f} s  [{e.certainty:>3}]  {e.text}")
    if not interleaves_record(result.spec):
        lines += [
            "",
            "The record, for comparison (what happened in 2018; seconds before the record's "
            "impact, not this run's):",
        ]
        lines += [f"  {-e.t_s:6.2f} s  [{e.certainty:>3}]  {e.text}" for e in record_events()]
    c = s.continuity
    outcome = f"Outcome of this run: {s.outcome}."
    if plausible is not None:
        outcome += f" Over the plausible worlds: {plausible.headline()}."
    lines += [
        "",
        outcome,
        f"Track continuity: {c.tracks} track ids, {c.resets} history resets, longest history "
        f"{c.longest_history_s:.1f} s, velocity known for {c.velocity_known_s:.1f} s.",
        f"At first detection: {s.speed_at_first_detection_mps / MPH:.1f} mph, "
        f"{s.distance_at_first_detection_m:.1f} m from her path (record: about 105-110 m, D).",
    ]
    return "\n".join(lines)
