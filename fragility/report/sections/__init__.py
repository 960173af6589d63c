"""One module per report section, each with SLUG, TITLE and build(ctx) -> Section."""
