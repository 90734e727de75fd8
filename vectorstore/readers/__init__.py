"""Reading files: each format into a `SourceDocument` with its text, headings, pages, title,
date and language (`loaders.load_file` picks the reader)."""
