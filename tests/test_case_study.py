"""The ethics case study: its facts carry sources, its page names the NTSB's finding, its numbers
come from the record or the simulation, and its outcomes say what they rest on."""

from __future__ import annotations

import ast
import html
import math
import re
from pathlib import Path

import pytest

from fragility.report.section import Bullets, FigureBlock, Note, PageBreak, Paragraph, Table
from fragility.report.writer import find_chromium
from scenarios import case_study, counterfactuals, spec, tempe2018
from scenarios import tempe2018_responsibility as resp
from scenarios.case_study import attention, chain, cite, outcomes, teaching
from scenarios.simulate import simulate

PACKAGE = Path(case_study.__file__).parent
MARK = re.compile(r"\[([QPDSU])\]")
# What may follow a mark: a link to the source, or the stated basis of a fact with no link.
UNLINKED = tuple(
    s.label for s in resp.SOURCES.values() if not s.url
)  # "derived by arithmetic ...", "an assumption ...", "not found in ..."


@pytest.fixture(scope="module")
def evidence():
    """The plausible worlds, run once for the module (a few hundred: intervals are wide, the
    wiring is the same)."""
    return case_study.gather(runs=256, seed=0)


@pytest.fixture(scope="module")
def case(evidence):
    return case_study.build(runs=64, audience="instructor", evidence=evidence)


@pytest.fixture(scope="module")
def students(evidence):
    return case_study.build(runs=64, audience="students", evidence=evidence)


def _visible(page_html: str) -> str:
    """The page's text without its style sheet, images and tags."""
    text = re.sub(r"<style>.*?</style>", "", page_html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return html.unescape(re.sub(r"\s+", " ", text))


# --- Facts and sources -----------------------------------------------------------------------


def test_every_responsibility_fact_has_a_known_mark_and_real_sources():
    for f in resp.FACTS.values():
        assert f.certainty in resp.CERTAINTY, f.id
        assert f.sources and all(s in resp.SOURCES for s in f.sources), f.id
        linked = [resp.SOURCES[s] for s in f.sources if resp.SOURCES[s].url.startswith("http")]
        if f.certainty in "QPS":  # a record, a paraphrase or a press report: a reader can follow it
            assert linked, f"{f.id} ({f.certainty}) has no source with a link"
        else:  # an assumption or a derivation says so, and what it rests on
            assert f.certainty in "DU" and f.sources, f.id


def test_every_fact_of_the_technical_record_maps_to_a_source():
    for f in tempe2018.FACTS.values():
        srcs = resp.record_sources(f)
        assert srcs, f.id
        if f.certainty in "QP":
            assert any(s.url for s in srcs) or f.source in (
                tempe2018.SECONDARY,
                "secondary summary of the NTSB board meeting (19 Nov 2019)",
            ), f.id


def test_the_numbers_in_fact_texts_match_the_values_the_figure_uses():
    hulu = resp.fact("police-hulu")
    assert [attention.clock(v) for v in hulu.values] == ["9:16 pm", "9:59 pm"]
    assert all(attention.clock(v) in hulu.text for v in hulu.values)
    share, window = resp.fact("police-looking-down").values
    assert f"{share:.0%}".replace("%", " percent") in resp.fact("police-looking-down").text
    assert f"{window:g} minutes" in resp.fact("police-looking-down").text
    assert f"{resp.fact('police-glance').values[0]:g} s" in resp.fact("police-glance").text
    # The crash's time of day, which places the trip on the figure, is the record's.
    assert attention.clock(resp.CRASH_MINUTE_OF_DAY) in tempe2018.fact("crash").text


def test_the_attention_figure_is_drawn_from_the_facts():
    trip, last = attention.spans()
    stream = next(s for s in trip if s.lane == "phone (police)")
    assert (stream.start, stream.end) == (-42.0, 1.0)  # 9:16 to 9:59 pm around a 9:58 pm crash
    assert stream.mark == "S"
    police = [s for s in last if s.lane == "eyes (police)"]
    ntsb = [s for s in last if s.lane == "eyes (NTSB)"]
    assert police[0].end == -0.5 and {s.mark for s in police} == {"S"}
    assert ntsb[0].end == -tempe2018.fact("operator-glance").value == -1.0
    hands = {s.label: s.start for s in last if s.lane == "hands"}
    assert hands == {"takes the wheel": -0.02, "brakes": 0.7}
    classes = [s for s in last if s.lane.startswith(attention.CLASS_LANE)]
    assert classes[0].start == -5.6 and classes[-1].end == 0.0
    assert [s.label for s in classes][:3] == ["vehicle", "other", "vehicle"]


# --- The page: marks, sources, the NTSB's finding --------------------------------------------


def test_every_certainty_mark_on_every_page_is_followed_by_its_source(case):
    total = 0
    for page in case.pages:
        text = page.html()
        text = re.sub(r"<style>.*?</style>", "", text, flags=re.S)
        for m in MARK.finditer(text):
            after = text[m.end() : m.end() + 300]
            assert after.startswith(" ("), f"{page.name}: mark {m[0]} with no source: {after[:80]}"
            rest = after[2:]
            assert rest.startswith('<a href="http') or rest.startswith(UNLINKED), (
                f"{page.name}: mark {m[0]} followed by {rest[:80]!r}"
            )
            total += 1
    assert total > 100  # the pages do cite: a page without marks would pass vacuously


def test_the_page_names_the_probable_cause_and_every_contributing_factor(case):
    # The NTSB's finding (HAR-19/03), in its own words, on the case page and on the handout.
    finding = (
        "visually distracted throughout the trip by her personal cell phone",
        "inadequate safety risk assessment procedures",
        "ineffective oversight of vehicle operators",
        "automation complacency",
        "inadequate safety culture",
        "impaired pedestrian",
        "outside a crosswalk",
        "Arizona Department of Transportation",
        "insufficient oversight of automated vehicle testing",
    )
    for name in ("index", "handout"):
        text = _visible(case.page(name).html())
        missing = [p for p in finding if p not in text]
        assert not missing, f"{name} lacks {missing}"
    index = _visible(case.page("index").html())
    for who in ("Elaine Herzberg", "NHTSA", "Volvo", "Tempe police", "Yavapai", "Aurora"):
        assert who in index
    for what in ("settlement", "endangerment", "Ironies of Automation", "ISO 21448", "UL 4600"):
        assert what in index
    assert "J3016" in index and "2.5" in index


def test_both_accounts_of_what_the_operator_was_looking_at_are_on_the_page(case):
    text = _visible(case.page("index").html())
    assert "The Voice" in text and "messaging program used by Uber employees" in text
    assert "about 0.5 s before impact" in text and "about 1 s before impact" in text


# --- Numbers: from the record or the simulation, never typed in ------------------------------

# Names that contain digits but are no quantity: standards, report numbers, scenario files.
IDENTIFIERS = re.compile(
    r"ISO(?:/PAS)? 21448|UL 4600|J3016|HAR-19/03|HWY18MH010|tempe-2018(?:-[a-z0-9-]+)?|"
    r"tempe2018|(?i:principle 2\.5)|\{[fro]:[^}]*\}"
)


def _prose_constants(path: Path):
    tree = ast.parse(path.read_text())
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)):
            if ast.get_docstring(node, clean=False) is not None:
                skip.add(id(node.body[0].value))
        elif isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            skip.update(id(c) for c in ast.walk(node.format_spec))  # ":.1f"
        elif isinstance(node, ast.Raise):
            skip.update(id(c) for c in ast.walk(node))  # error messages are not the page
    for node in ast.walk(tree):
        # Prose has spaces; ids, colours and encodings are single tokens.
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            prose = " " in node.value
            if prose:
                yield node.lineno, node.value


def test_no_number_is_typed_into_the_case_study_prose():
    typed = []
    for path in sorted(PACKAGE.glob("*.py")):
        for line, text in _prose_constants(path):
            if re.search(r"\d", IDENTIFIERS.sub("", text)):
                typed.append(f"{path.name}:{line}: {text[:70]!r}")
    assert not typed, "numbers typed into prose (take them from the facts or a run):\n" + "\n".join(
        typed
    )


def test_the_scan_would_catch_a_typed_number(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('def f(x):\n    return f"impact at {x:.1f} mph (record: 39 mph)"\n')
    found = [t for _, t in _prose_constants(bad) if re.search(r"\d", IDENTIFIERS.sub("", t))]
    assert found == [" mph (record: 39 mph)"]


def _numbers(value) -> list[float]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float)):
        return [float(value)] if math.isfinite(value) else []
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _numbers(v)]
    if hasattr(value, "to_dict"):
        return _numbers(value.to_dict())
    return []


NUMBER_WITH_UNIT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?) ?(mph|m/s|km/h|ft|%|s|m|minutes)\b")


def test_every_number_with_a_unit_on_the_page_comes_from_the_facts_or_a_run(case):
    known: set[str] = set()
    texts = [f.text for f in tempe2018.FACTS.values()] + [f.text for f in resp.FACTS.values()]
    for t in texts:
        known.update(re.findall(r"\d+(?:\.\d+)?", t))
    values = _numbers(case.metrics)
    values += [f.value for f in tempe2018.FACTS.values() if f.value is not None]
    values += [v for f in resp.FACTS.values() for v in f.values]
    base = spec.load(counterfactuals.BASE)
    values += _numbers(spec.jsonable(base.operator)) + _numbers(spec.jsonable(base.planner))
    values += list(chain.walking_speeds())
    for v in values:
        for x in (v, v * 100, v / tempe2018.MPH, -v):
            known.update({f"{x:g}", f"{x:.0f}", f"{x:.1f}", f"{x:.2f}", f"{x:.2g}"})
            # a share's interval rounds its ends outward (fragility._fmt.share_interval)
            known.update({f"{math.floor(x * 10) / 10:.1f}", f"{math.ceil(x * 10) / 10:.1f}"})
    for page in case.pages:
        text = re.sub(r"https?://\S+", " ", _visible(page.html()))  # addresses are no quantities
        unknown = {f"{n} {u}" for n, u in NUMBER_WITH_UNIT.findall(text) if n not in known}
        assert not unknown, f"{page.name}: numbers from nowhere: {sorted(unknown)}"


# --- Outcomes: one run, or a probability; never more firmly than that -------------------------


def test_an_outcome_says_what_it_rests_on():
    one = outcomes.Outcome("x", "X", "a = 1", 1.0, margin_m=4.6)
    assert one.single and one.phrase() == (
        "the crash is avoided in the one run with the scenario file's assumed values, "
        "4.6 m to spare"
    )
    hit = outcomes.Outcome("x", "X", "a = 1", 0.0, impact_speed_mph=21.3)
    assert "still hit, at 21.3 mph, in the one run" in hit.phrase()
    many = outcomes.from_probability(
        {"x": one}, {"x": {"p_avoid": 0.83, "low": 0.79, "high": 0.87, "runs": 2000}}
    )["x"]
    assert not many.single and many.title == "X"
    assert many.phrase().startswith(
        "the crash is avoided in 83 % (79 to 87 %, 95 % interval) of 2,000 plausible worlds"
    )
    # The single run stays, as an illustration only.
    assert many.one_run == "avoided, 4.6 m to spare" and many.cell() == "avoided in 83 % (79-87 %)"
    with pytest.raises(ValueError, match="excludes"):
        outcomes.Outcome("x", "X", "", 0.5, low=0.6, high=0.9, runs=10)


def test_probabilities_reach_every_sentence_that_quotes_an_outcome(evidence):
    probs = {
        name: {"p_avoid": 0.5, "low": 0.25, "high": 0.75, "runs": 1000, "median_impact_mph": 12.5}
        for name in counterfactuals.COUNTERFACTUALS
    }
    case = case_study.build(runs=16, audience="instructor", probabilities=probs, evidence=evidence)
    phrase = "avoided in 50 % (25 to 75 %, 95 % interval) of 1,000 plausible worlds"
    texts = {p.name: _visible(p.html()) for p in case.pages}
    for name, text in texts.items():  # the page, the handout, the briefs, the notes
        assert "in the one run" not in text and "(one run)" not in text, name
    assert texts["index"].count(phrase) >= 10  # the overview, every link, the ML section
    assert texts["instructor"].count(phrase) >= 4  # the questions that quote an outcome
    assert texts["roles"].count(phrase) == 2  # the engineer's and Volvo's briefs
    assert texts["handout"].count(phrase) >= 4  # the questions ...
    assert texts["handout"].count("avoided in 50 % (25-75 %); where hit, a median 12.5 mph") >= 7
    assert case.metrics["outcomes_basis"] == "probability over plausible values"
    # The masthead does not claim the drawn worlds for outcomes it was given.
    kept = evidence.plausible
    assert f"outcomes as given; figures over {kept.k:,} plausible worlds" in texts["index"]
    # The single runs appear only as labelled illustrations.
    assert "one run, illustration" in texts["index"] and "one run each" in texts["index"]


def test_the_outcomes_default_to_the_worlds_drawn(case, evidence):
    index = _visible(case.page("index").html())
    for name, p in evidence.probabilities().items():
        o = outcomes.from_probability({}, {name: p})[name]
        assert o.share() in index, name  # the table of every counterfactual
        assert case.metrics["outcomes"][name]["p_avoid"] == p["p_avoid"]
    assert set(evidence.probabilities()) == set(counterfactuals.COUNTERFACTUALS)
    assert case.metrics["outcomes_basis"] == "probability over plausible values"


def test_wilson_interval_matches_its_closed_form_at_the_ends():
    z = 1.959963984540054
    lo, hi = outcomes.wilson(0, 64)
    assert lo == 0.0 and hi == pytest.approx(z * z / (64 + z * z))
    lo, hi = outcomes.wilson(64, 64)
    assert hi == 1.0 and lo == pytest.approx(64 / (64 + z * z))
    lo, hi = outcomes.wilson(32, 64)
    assert (lo + hi) / 2 == pytest.approx(0.5) and hi - lo == pytest.approx(
        2 * z * math.sqrt(16 + z * z / 4) / (64 + z * z)
    )


def test_the_attentive_operator_is_never_stated_without_its_caveat(case):
    text = _visible(case.page("index").html())
    assert "hits at 21" not in text
    base, attentive = spec.load("tempe-2018"), spec.load("attentive-operator")
    if chain.reused_operator_delays(base, attentive):
        assert "still uses the delays derived for the distracted one" in text


# --- The chain and the exercise are runnable -------------------------------------------------


def test_each_link_of_the_chain_is_flipped_by_its_first_counterfactual():
    base = spec.load(counterfactuals.BASE)
    for link in chain.LINKS:
        base.value(link.key)  # the key exists
        first = spec.load(link.counterfactuals[0])
        assert link.key in {k for k, _, _ in first.changes}, link.choice
        for name in link.counterfactuals:
            assert name in counterfactuals.COUNTERFACTUALS


def test_the_exercise_file_loads_and_runs():
    s = spec.loads("\n".join(teaching.EXAMPLE_LINES), folder=PACKAGE.parent)
    assert [k for k, _, _ in s.changes] == ["planner.jaywalkers"]
    assert simulate(s).summary.collision in (True, False)
    base = spec.load(counterfactuals.BASE)
    for key in ("planner.suppression_s", "pedestrian.speed_mps", "operator.sight_distance_m"):
        base.value(key)


# --- Teaching material -------------------------------------------------------------------------


def test_lesson_plans_fill_fifty_and_ninety_minutes(case):
    assert sum(s.minutes for s in teaching.PLAN_SHORT) == 50
    assert sum(s.minutes for s in teaching.PLAN_LONG) == 90
    text = _visible(case.page("instructor").html())
    assert "A 50-minute class" in text and "A 90-minute class" in text


def test_questions_cover_every_theme_and_are_questions(case):
    assert {q.theme for q in teaching.QUESTIONS} == set(teaching.THEMES) and len(
        teaching.THEMES
    ) == 5
    for theme in teaching.THEMES:
        assert sum(q.theme == theme for q in teaching.QUESTIONS) >= 2
    for q in teaching.QUESTIONS:
        assert "?" in q.text and q.good
    notes = _visible(case.page("instructor").html())
    assert notes.count("What good answers contain") == len(teaching.QUESTIONS) + 1  # + exercise


def test_each_role_brief_is_its_own_printed_page(case):
    roles = case.page("roles")
    assert len(roles.sections) == len(teaching.ROLES)
    for s in roles.sections:
        assert isinstance(s.blocks[-1], PageBreak)
        assert sum(isinstance(b, PageBreak) for b in s.blocks) == 1
    assert roles.html().count('class="page-break"') == len(teaching.ROLES)


def test_students_see_no_instructor_notes_and_instructors_get_their_page(case, students):
    assert [p.name for p in case.pages] == ["index", "handout", "roles", "instructor"]
    assert [p.name for p in students.pages] == ["index", "handout", "roles"]
    for p in students.pages:
        assert 'class="note note-instructor"' not in p.html()
        for s in p.sections:
            assert not any(isinstance(b, Note) and b.kind == "instructor" for b in s.blocks)


def test_every_figure_has_alt_text_and_every_prose_block_is_plain_text(case):
    figs = case.figures
    assert {f.name for f in figs} >= {
        "case-attention",
        "case-timeline",
        "case-speed",
        "case-tornado",
        "case-outcomes",
        "case-tradeoff",
    }
    for f in figs:
        assert isinstance(f, FigureBlock) and len(f.alt) > 40 and f.png[:4] == b"\x89PNG"
    for page in case.pages:
        for s in page.sections:
            for b in s.blocks:
                items = b.items if isinstance(b, Bullets) else (getattr(b, "text", ""),)
                for t in items:
                    assert "{f:" not in t and "{r:" not in t and "{o:" not in t, t[:60]
            if isinstance(s.blocks, tuple):
                assert all(not isinstance(b, Paragraph) or b.text.strip() for b in s.blocks)


def test_the_film_strip_has_a_place_in_the_machine_learning_section():
    base, runs = counterfactuals.run_all()
    outs = outcomes.from_comparisons(counterfactuals.compare(base, runs))
    strip = FigureBlock("case-film-strip", b"\x89PNG", "What the network saw.", "A film strip.")
    from scenarios.case_study import ml

    with_strip = ml.section(base, outs, film_strip=strip)
    assert strip in with_strip.blocks and with_strip.metrics["film_strip"] is True
    assert strip not in ml.section(base, outs).blocks


def test_the_same_seed_gives_the_same_numbers(case, students):
    # Two independent builds (the audiences differ only in teaching notes) give the same numbers.
    assert students.metrics["index"] == case.metrics["index"]
    assert students.metrics["handout"] == case.metrics["handout"]
    mc = case.metrics["index"]["chain"]["monte_carlo"]
    assert mc["p_collision_design"]["p"] == 1.0 and mc["p_collision_persistent"]["p"] == 0.0
    assert cite.MARKS.keys() == {"Q", "P", "D", "S", "U"}


# --- Printed -----------------------------------------------------------------------------------

CHROMIUM = find_chromium()


def _pdf_pages(path: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", path.read_bytes()))


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_the_handout_prints_in_a_few_pages_and_each_role_on_one(case, tmp_path):
    written = case_study.write(case, tmp_path / "out", pdf=True)
    pdfs = {p.stem: tmp_path / "out" / p for p in written if p.suffix == ".pdf"}
    assert set(pdfs) == {"handout", "roles", "instructor"}
    assert _pdf_pages(pdfs["roles"]) == len(teaching.ROLES)
    # A few pages: at most six sheets of A4 (595 x 842 points) that a class can be handed.
    assert 4 <= _pdf_pages(pdfs["handout"]) <= 6
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdfs["handout"].read_bytes())
    assert boxes and all(round(float(w)) == 595 and round(float(h)) == 842 for w, h in boxes)
    assert _pdf_pages(pdfs["instructor"]) >= 4
    assert not (tmp_path / "out" / ".chromium-profile").exists()


# --- How sure, the outside record, the cost of false alarms ----------------------------------


def test_the_outside_record_stands_beside_the_models_numbers(case, evidence):
    for page in ("index", "handout"):
        text = _visible(case.page(page).html())
        for o in evidence.sensitivity.outside_record:
            claim = tempe2018.OUTSIDE[o["fact"]]
            assert f"{claim.text} [{claim.certainty}]" in text, (page, o["fact"])
            assert o["ours"]["text"] in text and o["question"] in text, (page, o["fact"])
    volvo = next(o for o in evidence.sensitivity.outside_record if o["fact"] == "volvo-simulation")
    assert "As a share: 85 % (64-95 %)." in _visible(case.page("index").html())  # 17 of 20
    assert volvo["claim_as_proportion"]["k"] == 17


def test_each_link_states_its_share_and_what_it_hangs_on(case, evidence):
    from scenarios.case_study import evidence as ev_mod

    text = _visible(case.page("index").html())
    hangs = 0
    for link in chain.LINKS:
        for name in link.counterfactuals:
            s = evidence.get(name)
            clause = ev_mod.what_decides(s)
            if clause:
                assert f"In these worlds {clause}." in text, name
                hangs += 1
    assert hangs >= 3  # the decisive unknowns are named, not only the shares


def test_the_false_alarm_section_quotes_the_trade_off_it_drew(case, evidence):
    from scenarios.case_study import false_alarms

    text = _visible(case.page("index").html())
    trade = evidence.tradeoff
    waits = [p for p in trade.points if p.axis == false_alarms.WAIT]
    assert waits
    for p in waits:
        wait = p.values[false_alarms.WAIT]
        assert (
            f"a wait of {wait:g} s: avoided in {p.avoided.text()}, "
            f"{p.hard_per_1000_km:.1f} hard brakings for nothing per 1,000 km"
        ) in text
    assert "(the 2018 wait)" in text
    for kind in trade.settings["objects"]:  # each assumed rate, counts grouped by thousands
        rate = kind["per_1000_km"]
        assert f"{kind['name']}, {rate:,g} per 1,000 km" in text
        assert rate < 1000 or f"{rate:g} per" not in text
    # the sweep's designs share the counterfactuals' worlds: the same share for the same design
    own = trade.points[0]
    assert own.avoided == evidence.get("persistent-tracking").avoided
    assert case.metrics["index"]["false-alarms"]["tradeoff"]["runs"] == evidence.tradeoff.runs


def test_the_masthead_and_overview_are_a_case_studys(case):
    page = case.page("index").html()
    assert '<p class="kicker">fragility · a case study for an ethics course</p>' in page
    kept = case.metrics["index"]["how-sure"]["plausible"]
    assert f"outcomes over {kept['k']:,} plausible worlds of {kept['n']:,} drawn" in page
    assert '<h2 id="overview-title">The case at a glance</h2>' in page
    assert "What this report found" not in page
    # A few plain sentences, each opening with a link to the section it sums up.
    index = case.page("index")
    slugs = {s.slug for s in index.sections}
    assert 3 <= len(index.summary) <= 5
    for line in index.summary:
        m = re.match(r"\[([^\]]+)\]\(#([a-z\-]+)\)", line)
        assert m and m[2] in slugs, line
        assert f'<a href="#{m[2]}">{html.escape(m[1], quote=False)}</a>' in page


CONFIG_LINE = re.compile(
    r"\b(?:planner|tracking|operator|aeb|perception|pedestrian|suv|world)\.[a-z_.0-9]+ = "
)


def test_the_story_names_counterfactuals_in_words_and_keeps_lines_for_reference(case):
    story = ("chain", "how-sure", "false-alarms", "ml", "questions", "decisions")
    for page in case.pages:
        for s in page.sections:
            if s.slug not in story:
                continue
            for text in build_texts([s]):
                assert not CONFIG_LINE.search(text), (page.name, s.slug, text[:80])
    reference = next(s for s in case.page("index").sections if s.slug == "scenario-lines")
    lines = [row[2] for row in reference.blocks[0].rows]
    assert "`planner.suppression_s = 0 (was 1)`" in lines
    assert len(lines) == len(counterfactuals.COUNTERFACTUALS)
    for page in case.pages:  # maths typeset, not ASCII
        assert "^2" not in _visible(page.html()), page.name
    # The replay's unconfirmed inputs: each in words with its unit, its line for reference.
    replay = next(s for s in case.page("index").sections if s.slug == "replay")
    table = next(b for b in replay.blocks if isinstance(b, Table))
    rows = {r[2]: r for r in table.rows}
    assert len(rows) == replay.metrics["unconfirmed_inputs"] >= 25
    brakes = rows["`planner.emergency_decel_mps2`"]
    assert brakes[:2] == ("The emergency braking strength", "8 m/s²")
    assert rows["`suv.length_m`"][:2] == ("The SUV's length", "4.95 m")
    assert rows["`suv.jerk_mps3`"][1] == "30 m/s³"
    assert rows["`pedestrian.speed_mps`"][1] == "1.4 m/s"
    assert not any(CONFIG_LINE.search(r[0] + " = ") or "_" in r[0] for r in table.rows)


def build_texts(sections):
    from scenarios.case_study.build import _texts

    return _texts(sections)


def test_the_handouts_glossary_defines_the_words_the_handout_uses(case):
    handout = case.page("handout")
    rest = build_texts([s for s in handout.sections if s.slug not in ("glossary", "sources")])
    joined = "\n".join(rest).lower()
    glossary = next(s for s in handout.sections if s.slug == "glossary")
    shown = {item.split("**")[1] for item in glossary.blocks[0].items}
    for term, _ in teaching.GLOSSARY:
        names = [n.lower() for n in teaching.term_names(term)]
        assert (term in shown) == any(re.search(r"(?<!\w)" + re.escape(n), joined) for n in names)
    assert {"Plausible world", "Action suppression", "Operator (safety driver)"} <= shown
    assert "Triggering condition" not in shown  # SOTIF is on the full page, not the handout
    full = next(s for s in case.page("index").sections if s.slug == "glossary")
    assert len(full.blocks[0].items) == len(teaching.GLOSSARY)
