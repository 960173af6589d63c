"""One module per report section, each with SLUG, TITLE and build(ctx) -> Section.

ORDER is the order of the report; a section is listed only once its analysis is built. TITLES
names every section (each module's TITLE is read from here), so a page that names or links the
report's sections, such as the scenario case study, does so without importing the analyses
(and torch).
"""

ORDER = (
    "models",
    "mistakes",
    "adversarial",
    "garbage",
    "inverse",
    "corruptions",
    "shortcut",
    "appendix",
)

TITLES = {
    "models": "The models",
    "mistakes": "Confidently wrong on real data",
    "adversarial": "Adversarial examples",
    "garbage": "Confident garbage",
    "inverse": "Inverse images: what the neurons respond to",
    "corruptions": "Corruptions",
    "shortcut": "A shortcut, like the crosswalk",
    "appendix": "Appendix: two neurons make a net",
    "made": "How this report was made",
}
