"""The failure report: sections built from the analyses, written as HTML, JSON and PNGs."""
