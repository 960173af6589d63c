"""The Tempe crash as a case study for an ethics course: the page, a student handout, role-play
briefs and instructor notes, built from the NTSB record, the responsibility facts and the
simulation.

    from scenarios import case_study
    ev = case_study.gather(runs=4096, seed=0)            # the plausible worlds, run once
    case = case_study.build(audience="instructor", evidence=ev)  # pure: runs and assembles
    case_study.write(case, "out/case", pdf=True)         # the files

One concept a module: `record` (what happened, the NTSB's finding, what followed), `people`,
`attention` (the operator beside the system), `chain` (the replay, each decision to its cost),
`evidence` (every counterfactual over the plausible worlds and the false-alarm trade-off, and
the words for their inputs), `robustness` (how sure each outcome is, beside the outside record),
`false_alarms` (the cost of the fixes), `frameworks`, `ml` (the lecture's networks), `teaching`
(objectives, plans, questions, role-play, exercise, glossary), `sources`, `cite` (facts with
marks and sources), `outcomes` (the one place counterfactual outcomes enter), `figures`,
`build`, `writer`.
"""

from scenarios.case_study.build import AUDIENCES, CaseStudy, Page, build
from scenarios.case_study.evidence import Evidence, gather
from scenarios.case_study.outcomes import Outcome, from_comparisons, from_probability
from scenarios.case_study.writer import write

__all__ = [
    "AUDIENCES",
    "CaseStudy",
    "Evidence",
    "Outcome",
    "Page",
    "build",
    "from_comparisons",
    "from_probability",
    "gather",
    "write",
]
