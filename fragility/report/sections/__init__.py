"""Report sections: one module per analysis, each exposing SLUG, TITLE and build(ctx)."""
