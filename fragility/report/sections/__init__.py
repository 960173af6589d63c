"""One module per report section, each with SLUG, TITLE and build(ctx) -> Section.

ORDER is the order of the report; a section is listed only once its analysis is built.
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
