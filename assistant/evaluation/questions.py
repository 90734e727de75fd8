"""Question sets for evaluation, in the JSONL format of ``eval/FORMAT.md``.

Loading is strict — a malformed line, an unknown field or a missing required field is rejected
with the line number — because a silently skipped question makes every figure of a report wrong.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vectorstore.language import SUPPORTED_LANGUAGES

CATEGORIES = ("fact", "cross_lingual", "multi_source", "false_premise", "unanswerable")
REQUIRED = ("id", "question", "language", "category", "answerable")
OPTIONAL = ("reference_answer", "sources", "evidence", "must_include")


class QuestionSetError(ValueError):
    """The question file is not in the expected format; the message names file and line."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    language: str
    category: str
    answerable: bool
    reference_answer: str = ""
    sources: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    must_include: list[list[str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def split(self) -> str:
        """`tune` or `check`, by a fixed rule on the id (the parity of its SHA-256).

        Changes are designed on *tune* questions only and kept only when *check* does not drop:
        the figures that count come from unseen sets, and a change fitted to the questions it was
        tried on makes those worse.
        """
        return "tune" if int(hashlib.sha256(self.id.encode()).hexdigest(), 16) % 2 == 0 else "check"


def _check_types(record: dict, where: str) -> None:
    def fail(message: str) -> None:
        raise QuestionSetError(f"{where}: {message}")

    for name in ("id", "question", "language", "category"):
        if not isinstance(record[name], str) or not record[name].strip():
            fail(f"field {name!r} must be a non-empty string")
    if record["language"] not in SUPPORTED_LANGUAGES:
        fail(f"language {record['language']!r} is not one of {', '.join(SUPPORTED_LANGUAGES)}")
    if record["category"] not in CATEGORIES:
        fail(f"category {record['category']!r} is not one of {', '.join(CATEGORIES)}")
    if not isinstance(record["answerable"], bool):
        fail("field 'answerable' must be true or false")
    if not isinstance(record.get("reference_answer", ""), str):
        fail("field 'reference_answer' must be a string")
    for name in ("sources", "evidence"):
        value = record.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            fail(f"field {name!r} must be a list of strings")
    groups = record.get("must_include", [])
    if not isinstance(groups, list) or not all(
        isinstance(g, list) and g and all(isinstance(v, str) for v in g) for g in groups
    ):
        fail("field 'must_include' must be a list of non-empty lists of strings")


def load_questions(path: str | Path) -> list[Question]:
    """Parse and validate a whole question file before anything is run."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise QuestionSetError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise QuestionSetError(f"{path}: not UTF-8 text") from exc
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionSetError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise QuestionSetError(f"{where}: expected a JSON object")
        missing = [name for name in REQUIRED if name not in record]
        if missing:
            raise QuestionSetError(f"{where}: missing required field(s) {', '.join(missing)}")
        unknown = sorted(set(record) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            raise QuestionSetError(f"{where}: unknown field(s) {', '.join(unknown)}")
        _check_types(record, where)
        if record["id"] in seen:
            raise QuestionSetError(f"{where}: duplicate id {record['id']!r}")
        seen.add(record["id"])
        questions.append(Question(**record))
    if not questions:
        raise QuestionSetError(f"{path}: contains no questions")
    return questions
