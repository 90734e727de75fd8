"""The answering pipeline: the `Assistant` (condense, retrieve, gate, write, verify, quote,
decide), the decisions to abstain, the prompts and the follow-up suggestions."""
