"""Rules that tie an answer to its sources, with no model: the names and numbers a question
and an answer depend on (`specifics`), the key-term gate (`evidence`), citation verification
(`citations`) and the extractive ranking of source sentences (`extractive`)."""
