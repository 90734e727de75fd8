"""Who writes an answer, behind one narrow interface: a `Writer` condenses a follow-up,
optionally translates a question for retrieval, and writes the answer to a question from the
retrieved chunks, yielding its text in pieces. The chain around it — retrieval, the evidence
gate, citation checks, abstention — is the same for all. `ChatWriter` wraps any LangChain chat
model (whichever provider made it, `assistant.models.providers`, or a fake in tests);
`ExtractiveWriter` answers with the best-supported source sentences and needs no model at all.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate

from assistant import prompts
from assistant.grounding.extractive import extract_answer
from vectorstore.documents import ScoredChunk

History = Sequence[tuple[str, str]]  # (user message, assistant message) pairs
Excerpts = Callable[[str, Sequence[ScoredChunk]], list[str]]
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\((?:[^()\s]|\([^()\s]*\))*\)")
_MD_ANCHOR = re.compile(r"\s*\{#[^}\s]*\}")


def prompt_text(text: str) -> str:
    """Document text as the model reads it: Markdown link targets, images and heading anchors
    cost prompt tokens (a URL is 20 or more) and say nothing, so only the link text stays; brackets
    around numbers are neutralised so a document cannot plant fake citation markers."""
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_ANCHOR.sub("", text)
    text = re.sub(r"\[(\d+)\]", r"(\1)", text)
    return " ".join(text.split())


def format_sources(hits: Sequence[ScoredChunk], bodies: Sequence[str] | None = None) -> str:
    """Numbered sources for the prompt; a hit whose body is empty keeps its number but is not
    shown (citation numbers always index `hits`)."""
    return "\n\n".join(f"[{n}] {prompt_text(bodies[n - 1] if bodies else hit.chunk.text)}"
                         for n, hit in enumerate(hits, start=1) if not bodies or bodies[n - 1])


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""


class Writer(ABC):
    """How answers are written. `calls_model` says whether a language model is asked (its
    latency and its "not found" verdict then mean something)."""

    calls_model: bool = True

    @abstractmethod
    def answer(self, question: str, hits: Sequence[ScoredChunk], language: str) -> Iterator[str]:
        """The answer to `question` from `hits` (numbered [1]..), in pieces; the whole text may
        be `prompts.NOT_FOUND` or empty when the sources do not answer."""

    @abstractmethod
    def condense(self, question: str, history: History, history_text: str) -> str:
        """The follow-up `question` as a standalone question (history is never empty here)."""

    def translate(self, question: str, target_name: str) -> str:
        """The question in another language, for retrieval; "" when this writer cannot."""
        return ""

    def translate_answer(self, text: str, target_name: str) -> str:
        """An answer written partly in the wrong language, in `target_name`; "" when this writer
        cannot."""
        return ""

    def warm_up(self) -> None:  # noqa: B027 - most writers have nothing to load
        """Make the first answer as quick as the later ones (nothing to do without a model)."""


class ChatWriter(Writer):
    """A LangChain chat model reading numbered excerpts: prompts are LCEL chains."""

    def __init__(self, chat: BaseChatModel, excerpts: Excerpts) -> None:
        if chat is None:
            raise ValueError("chat must be a chat model")
        self.chat = chat
        self.excerpts = excerpts

    @cached_property
    def _prefix(self) -> list:
        """System rules and worked examples (a small model follows an example far better than a
        rule: translate quotes into the answer's language, write whole sentences, correct a false
        premise from the sources). They never change and open every prompt that may follow an
        answer, so a local model keeps them in its cached prompt prefix."""
        user = prompts.template("answer_user")
        messages: list = [("system", prompts.template("answer_system"))]
        for example in prompts.answer_examples():
            messages += [
                HumanMessage(user.format(sources=example["sources"], question=example["question"],
                                         language_name=prompts.message(example["language"],
                                                                       "language_name"))),
                AIMessage(example["answer"]),
            ]
        return messages

    def _after_prefix(self, template: str):
        prompt = ChatPromptTemplate.from_messages([*self._prefix, ("human", template)])
        return prompt | self.chat | StrOutputParser()

    @cached_property
    def answer_chain(self):
        return self._after_prefix(prompts.template("answer_user"))

    @cached_property
    def condense_chain(self):
        return PromptTemplate.from_template(prompts.template("condense")) | self.chat | StrOutputParser()

    @cached_property
    def translate_chain(self):
        return PromptTemplate.from_template(prompts.template("translate")) | self.chat | StrOutputParser()

    @cached_property
    def translate_answer_chain(self):
        return self._after_prefix(prompts.template("translate_answer"))

    def answer(self, question: str, hits: Sequence[ScoredChunk], language: str) -> Iterator[str]:
        yield from self.answer_chain.stream({
            "sources": format_sources(hits, self.excerpts(question, hits)),
            "question": question,
            "language_name": prompts.message(language, "language_name"),
            "not_found": prompts.NOT_FOUND,
        })

    def warm_up(self) -> None:
        """The model loaded and the fixed prompt prefix evaluated: one answer prompt is started
        and closed at its first token (closing ends the request). llama.cpp keeps that prompt's
        state, so the first question only pays for its own part, as every later one does."""
        stream = self.answer_chain.stream({
            "sources": "[1] …", "question": "…", "not_found": prompts.NOT_FOUND,
            "language_name": prompts.message("en", "language_name")})
        try:
            next(stream, None)
        finally:
            stream.close()

    def condense(self, question: str, history: History, history_text: str) -> str:
        rewritten = self.condense_chain.invoke({"history": history_text, "question": question})
        return _first_line(rewritten) or question

    def translate(self, question: str, target_name: str) -> str:
        return _first_line(self.translate_chain.invoke({"question": question, "target_name": target_name}))

    def translate_answer(self, text: str, target_name: str) -> str:
        return self.translate_answer_chain.invoke({"text": text, "target_name": target_name,
                                                   "not_found": prompts.NOT_FOUND}).strip()


class ExtractiveWriter(Writer):
    """The best-supported source sentences, quoted and cited (`assistant.grounding.extractive`); no model."""

    calls_model = False

    def __init__(self, knowledge_base) -> None:
        self.kb = knowledge_base

    def answer(self, question: str, hits: Sequence[ScoredChunk], language: str) -> Iterator[str]:
        chosen = extract_answer(question, hits, self.kb)
        if chosen:
            body = " ".join(f"{c.text} [{c.source}]" for c in chosen)
            yield f"{prompts.message(language, 'extractive_lead')} {body}"

    def condense(self, question: str, history: History, history_text: str) -> str:
        # no model to rewrite with: let retrieval see the previous question as context
        return f"{history[-1][0]} {question}"
