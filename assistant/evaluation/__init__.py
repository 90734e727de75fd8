"""Evaluation against a question set: the questions (`questions`), one record per answered
question (`records`), the metrics (`metrics`), the run and its report (`run`), the optional
LLM judge (`judge`) and the charts (`charts`)."""
