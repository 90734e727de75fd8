"""The answering pipeline and the `Assistant` API used by the CLI, the UI and the evaluation.

condense (follow-up → standalone question) → retrieve (hybrid, optionally with the question
translated into the corpus languages) → evidence gate → the backend writes the answer from
numbered sources (`assistant.models.writers`: a chat model's LCEL chains, or extractive quotes) →
verify citations → abstain or answer → `Answer`.
`Assistant.stream` yields the sources as soon as retrieval is done, then the model's draft as it
is written, a `checking` event, then the verified `Answer` (whose text is the one to show);
`Assistant.ask` is the same pipeline, consumed. The decisions to abstain are
`assistant.grounding.abstention`'s, what the model reads is `reading.excerpts`; what stays here
is the order of the stages, the streaming and the two steps that rewrite a verified answer
(into the asker's language; replaced by quoted source sentences) — a little over 300 lines.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from assistant import prompts
from assistant.answer import AbstainReason, Answer, Citation, Signals
from assistant.grounding import abstention
from assistant.grounding.citations import (
    Verification,
    cite_sentence,
    parse_claims,
    strip_markers,
    verify_citations,
)
from assistant.grounding.extractive import RankedSentence, extract_answer, rank_sentences
from assistant.grounding.specifics import lost_numbers, missing_specifics
from assistant.models.llm import describe_error, make_chat_model, model_label
from assistant.models.writers import ChatWriter, ExtractiveWriter, History, Writer
from assistant.pipeline.inputs import QuestionError, clean_question, history_text
from assistant.pipeline.reading import excerpts, foreign_sentences, in_their_words, quoted
from assistant.pipeline.suggestions import follow_ups
from assistant.settings import Settings, store_config
from vectorstore.documents import ScoredChunk
from vectorstore.language import detect_question_language
from vectorstore.text import says_something

log = logging.getLogger(__name__)

_QUOTE_MARKS = re.compile(r'["“”„«»]')


@dataclass
class StreamEvent:
    """One step of an answer. `draft` events carry the backend's text as it is written: a draft
    that verification, the language step and the quote step may still change or turn into an
    abstention, so it is progress, not the answer; `checking` (no data) says the draft is
    complete and is being checked; `answer` carries the verified `Answer`."""

    kind: Literal["sources", "draft", "checking", "answer"]
    data: Any


class Assistant:
    """Answers questions about the knowledge base. Thread-safe; one per process is enough."""

    def __init__(self, settings: Settings | None = None, knowledge_base=None, chat_model=None,
                 verify_embeddings=None) -> None:
        """`chat_model` overrides the configured backend with any LangChain chat model;
        `verify_embeddings` is the embedder that checks citations (USE by default)."""
        from vectorstore.index.knowledge_base import KnowledgeBase

        self.settings = settings or Settings.from_env()
        self.kb = knowledge_base or KnowledgeBase(store_config(self.settings))
        chat = chat_model if chat_model is not None else make_chat_model(self.settings)
        self.writer: Writer = (ExtractiveWriter(self.kb) if chat is None
                                 else ChatWriter(chat, self.excerpts))
        self._verify_embeddings = verify_embeddings
        self.ready = threading.Event()  # set once `warm_up` has run

    @property
    def chat(self):
        """The chat model behind the backend, None for the extractive backend."""
        return getattr(self.writer, "chat", None)

    # --- building blocks ---------------------------------------------------------------------

    def for_collection(self, collection: str) -> Assistant:
        """The assistant of another collection of the same store (`assistant.library`): the
        same settings, chat model, embedders and Chroma client, and the same readiness."""
        other = Assistant(replace(self.settings, collection=collection),
                          self.kb.sibling(collection), self.chat, self._verifier())
        other.ready = self.ready
        return other

    def _verifier(self):
        """The embedder that checks citations, loaded on first use."""
        if self._verify_embeddings is None:
            from vectorstore.index.embeddings import make_embeddings

            self._verify_embeddings = make_embeddings("use")
        return self._verify_embeddings

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors from the fast multilingual model, for citation verification."""
        vectors = np.asarray(self._verifier().embed_documents(texts), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def excerpts(self, question: str, hits: Sequence[ScoredChunk]) -> list[str]:
        """What the model reads of each hit (`reading.excerpts`)."""
        return excerpts(question, hits, self.kb, self.settings.evidence_sentences)

    def follow_ups(self, answer: Answer) -> list[str]:
        """Questions the answer's retrieved passages answer too (`assistant.pipeline.suggestions`)."""
        return follow_ups(answer, lambda q, k: self.kb.search(q, k, language=answer.language),
                          self.settings.k)

    def warm_up(self) -> None:
        """Load what the first question would otherwise wait for — the index, both embedders,
        the model with its prompt prefix — so that it is answered as fast as the next (on two
        AVX2 cores the model reads its ~400-token prefix in about 6 s). The model is started
        first and loads in its own process while the embedders load here. Failures are only
        logged: the question that follows reports them properly. `ready` is set either way."""
        t0 = time.perf_counter()

        def model() -> None:
            try:
                self.writer.warm_up()
            except Exception as exc:  # noqa: BLE001 - reported by the first question instead
                log.warning("warm-up failed: %s", describe_error(exc, self.settings))

        loading = threading.Thread(target=model, name="warm-up-model", daemon=True)
        loading.start()
        try:
            self.kb.search("warm-up", 1)
            self.embed(["warm-up"])
        except Exception as exc:  # noqa: BLE001 - as above
            log.warning("warm-up failed: %s", describe_error(exc, self.settings))
        loading.join()
        self.ready.set()
        log.info("warmed up in %.1f s (index, embedders, model and its prompt prefix)",
                 time.perf_counter() - t0)

    # --- pipeline ----------------------------------------------------------------------------

    def standalone_question(self, question: str, history: History) -> str:
        if not history:
            return question
        return self.writer.condense(question, history, history_text(history))

    def translations(self, question: str, language: str) -> list[str]:
        """The question in the other corpus languages, for retrieval (LLM backends only)."""
        if not self.writer.calls_model or not self.settings.should_translate:
            return []
        corpus = {d.language for d in self.kb.documents()}
        out = []
        for target in sorted(corpus - {language}):
            if target not in prompts.LANGUAGES:
                continue
            text = self.writer.translate(question, prompts.message(target, "language_name"))
            if text and text.lower() != question.lower():
                out.append(text)
        return out

    def as_runnable(self):
        """The assistant as a LangChain `Runnable`: input a question, or
        ``{"question": ..., "history": [(user, assistant), ...]}``; output the `Answer`."""
        from langchain_core.runnables import RunnableLambda

        def run(value: str | dict) -> Answer:
            if isinstance(value, str):
                return self.ask(value)
            history = [tuple(pair) for pair in value.get("history") or ()]
            return self.ask(value["question"], history, k=value.get("k"))

        return RunnableLambda(run, name="kenbron")

    def ask(self, question: str, history: History = (), k: int | None = None) -> Answer:
        answer = None
        for event in self.stream(question, history, k=k):
            if event.kind == "answer":
                answer = event.data
        assert answer is not None
        return answer

    def stream(self, question: str, history: History = (), k: int | None = None
               ) -> Iterator[StreamEvent]:
        """Events: `sources` (list[ScoredChunk]), `draft` (str) pieces, `checking`, then `answer`
        (Answer); an abstention before the model is asked goes from `sources` to `answer`.

        Raises QuestionError for unusable questions; backend failures end in an `Answer` whose
        `error` is set and whose text says so in the asker's language.
        """
        question = clean_question(question, self.settings.max_question_chars)
        k = k or self.settings.k
        t0 = time.perf_counter()
        language = detect_question_language(question)
        answer = Answer(question=question, text="", language=language,
                        backend=self.settings.backend, model=model_label(self.settings, self.chat))

        def ms() -> float:
            return round((time.perf_counter() - t0) * 1000, 1)

        try:
            standalone = self.standalone_question(question, history)
            answer.standalone_question = standalone
            extra = self.translations(standalone, language)
            hits = self.kb.search(standalone, k, language=language, extra_queries=extra)
        except Exception as exc:  # the store or the model (condense, translate) failed
            yield StreamEvent("answer", self._failed(answer, exc, ms()))
            return
        answer.retrieved = hits
        answer.timings.retrieval_ms = ms()
        yield StreamEvent("sources", hits)

        reason = abstention.before_reading(standalone, hits, language)
        if reason:
            yield from self._abstain(answer, ms(), reason)
            return
        yield from self._generate(answer, standalone, ms)

    def _abstain(self, answer: Answer, now: float, reason: AbstainReason
                 ) -> Iterator[StreamEvent]:
        answer.abstained = True
        answer.abstain_reason = reason
        answer.text = prompts.message(answer.language, "abstain")
        answer.citations = []
        if answer.timings.first_token_ms is None:
            answer.timings.first_token_ms = now
        answer.timings.total_ms = now
        yield StreamEvent("answer", answer)

    def _failed(self, answer: Answer, exc: BaseException, now: float) -> Answer:
        reason = describe_error(exc, self.settings)
        answer.error = reason
        answer.text = prompts.message(answer.language, "error", reason=reason)
        answer.timings.total_ms = now
        return answer

    def _generate(self, answer: Answer, question: str, ms) -> Iterator[StreamEvent]:
        not_found = prompts.NOT_FOUND
        text, held = "", ""
        answer.model_called = self.writer.calls_model
        try:
            for token in self.writer.answer(question, answer.retrieved, answer.language):
                if answer.timings.first_token_ms is None:
                    answer.timings.first_token_ms = ms()
                text += token
                # hold tokens back while the answer could still be the NOT_FOUND signal
                if held is not None:
                    held += token
                    if not_found.startswith(held.strip()) or held.strip().startswith(not_found):
                        continue
                    token, held = held, None
                yield StreamEvent("draft", token)
        except Exception as exc:
            yield StreamEvent("answer", self._failed(answer, exc, ms()))
            return
        yield StreamEvent("checking", None)
        answer.draft = text
        reason = abstention.declined(text, self.writer.calls_model)
        if reason:
            yield from self._abstain(answer, ms(), reason)
            return
        if self.writer.calls_model:
            text = self._in_language(answer, text, ms)
        check, reason = self._verify(answer, text)
        self._apply(answer, check, ms())
        if reason:
            yield from self._abstain(answer, ms(), reason)
            return
        answer.model_answer = answer.text
        if self.writer.calls_model and self.settings.should_quote:
            quoted = self._quoted(answer, ms)
            if quoted is not None:
                self._apply(answer, quoted, ms())
                answer.timings.quoted_ms = ms()
        if self.writer.calls_model:
            ranked = rank_sentences(answer.standalone_question, answer.retrieved, self.kb)
            answer.signals = self._signals(answer, ranked)
            answer.confidence = abstention.confidence(answer.signals)
            if self.settings.should_doubt and answer.confidence < abstention.NOT_SURE_BELOW:
                self._not_sure(answer, ranked)
        # when the answer is final, also if the quote step spent time and was not taken
        answer.timings.total_ms = ms()
        yield StreamEvent("answer", answer)

    def _in_language(self, answer: Answer, text: str, ms) -> str:
        """The answer translated into the asker's language by the same model, when that leaves
        fewer sentences in another language and keeps every number (a 1.5B model drops a figure
        or a version number now and then; names may rightly change form, "KI-systemen" ~ "AI
        systems"); otherwise, or if the model fails now, the answer as written: it is verified
        either way, and a wrong-language sentence is better than none. Quotation marks go first:
        the model copies anything quoted untranslated, and a translated quotation is no longer
        verbatim. The streamed text is replaced by the verified answer."""
        before = len(foreign_sentences(text, answer.language))
        if not before:
            return text
        try:
            translated = self.writer.translate_answer(
                _QUOTE_MARKS.sub("", text), prompts.message(answer.language, "language_name"))
        except Exception as exc:
            log.warning("translating the answer into %s failed: %s", answer.language, exc)
            return text
        answer.timings.translated_ms = ms()
        if translated and not abstention.says_not_found(translated) \
                and len(foreign_sentences(translated, answer.language)) < before \
                and not lost_numbers(strip_markers(text), strip_markers(translated)):
            return translated
        return text

    def _quoted(self, answer: Answer, ms) -> Verification | None:
        """The extractive backend's sentences for the question, in the asker's language and
        verified, to stand instead of the model's own (verified) answer; None to keep that.
        Sentences that had to be translated are followed by the source's own words
        (`reading.in_their_words`).

        Why: with the same retrieval, a 1.5B model reading the best sentences often restates the
        question or writes a neighbouring claim, while the best-scored sentence holds the answer
        more often (`docs/decisions.md`: `Assistant._quoted`). The model's answer still decides
        whether there is an answer at all: only once it has been verified are its words replaced, so
        this never turns an abstention into an answer. The model's answer also stays when a sentence
        of it that kept its citation names something the quote lacks (a name, number, command or
        path beyond the question's: the best-scored sentence is then often a neighbouring one, or
        stops before the path it leads in to), and when the quote cannot be brought into the asker's
        language or fails verification. A sentence left uncited holds nothing a source was found to
        support, so it does not hold the quote back."""
        question = answer.standalone_question
        chosen = extract_answer(question, answer.retrieved, self.kb)
        if not chosen:
            return None
        text = " ".join(f"{c.text} [{c.source}]" for c in chosen)
        cited = " ".join(claim.text for claim in parse_claims(answer.text) if claim.markers)
        if missing_specifics(cited, text, question=question):
            return None
        translated = self._in_language(answer, text, ms)
        if foreign_sentences(translated, answer.language):
            return None
        if translated != text:  # the words that answer, as the source writes them
            translated += "\n\n" + in_their_words(chosen, answer.language)
        check, reason = self._verify(answer, translated)
        return None if reason else check

    @staticmethod
    def _signals(answer: Answer, ranked: Sequence[RankedSentence]) -> Signals:
        """What `abstention.confidence` weighs, for a verified answer of the model: its
        citations' support, whether it cites the best-ranked passage, and how well the best
        source sentence matches the question."""
        cited = {c.chunk_id for c in answer.citations}
        return Signals(support=min((c.support for c in answer.citations), default=0.0),
                       best_cited=answer.retrieved[0].chunk.chunk_id in cited,
                       evidence=round(ranked[0].score, 3) if ranked else 0.0)

    def _not_sure(self, answer: Answer, ranked: Sequence[RankedSentence]) -> None:
        """"Not sure" and the best passage instead of the answer: the first sentence of four or
        more words in the extractive ranking of the retrieved passages, quoted and cited, so the
        asker can read what the documents say rather than an answer that only looks verified."""
        # a sentence, not a heading or a label: what a reader can take the answer from
        best = next((s for s in ranked if says_something(s.text)), ranked[0] if ranked else None)
        citation = cite_sentence(best.source, answer.retrieved[best.source - 1], best.text) \
            if best else None
        answer.unsure, answer.withheld = True, answer.text
        answer.text = prompts.message(answer.language, "not_sure")
        answer.citations = [citation] if citation else []
        if citation:
            answer.text += " " + quoted(citation.quote, citation.n)

    def _verify(self, answer: Answer, text: str) -> tuple[Verification, AbstainReason | None]:
        """The answer's citations verified, and the reason to abstain instead, if there is one
        (`abstention.after_verifying`)."""
        question = answer.standalone_question
        check = verify_citations(text, answer.retrieved, self.embed, question=question)
        return check, abstention.after_verifying(check, question)

    @staticmethod
    def _apply(answer: Answer, check: Verification, now: float) -> None:
        answer.text = check.text
        answer.citations = check.citations
        answer.removed_citations = check.removed
        answer.added_citations = check.added
        answer.timings.total_ms = now


__all__ = ["Assistant", "Answer", "Citation", "QuestionError", "StreamEvent"]
