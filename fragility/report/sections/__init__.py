"""Report sections: one module per analysis, each with SLUG, TITLE and build(ctx)."""
