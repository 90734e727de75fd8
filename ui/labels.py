"""The app's own words — tabs, buttons, labels — in English, Dutch and French. Gradio picks the
visitor's browser language on the page (English otherwise); answers follow the asker's language
on their own (`prompts/messages.json`)."""

from __future__ import annotations

import gradio as gr

from vectorstore.loaders import SUPPORTED_SUFFIXES

_TYPES = " ".join(SUPPORTED_SUFFIXES)

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "intro": "# Kenbron\nAsk in English, Nederlands or français. Every claim links to the passage "
                 "it came from — or you get an honest “the documents don't say”.",
        "chat": "Chat", "documents": "Documents", "evaluation": "Evaluation",
        "conversation": "Conversation", "question": "Your question", "placeholder": "Ask a question…",
        "ask": "Ask", "stop": "Stop", "clear": "Clear chat", "examples": "Examples",
        "ingested": "Ingested documents", "password": "Admin password",
        "add": f"Add documents ({_TYPES})", "ingest": "Ingest files", "results": "Results",
        "remove_choice": "Remove a document", "remove": "Remove…", "confirm": "Yes, remove it",
        "keep": "Keep it", "charts": "Charts", "run_eval": "Run the dev-set evaluation",
        "cancel_eval": "Cancel the evaluation",
        "eval_password": "Admin password: unlocks running the dev-set evaluation",
    },
    "nl": {
        "intro": "# Kenbron\nVraag in het Nederlands, English of français. Elke bewering verwijst naar "
                 "de passage waar ze vandaan komt — of je krijgt een eerlijk “dat staat niet in de "
                 "documenten”.",
        "chat": "Gesprek", "documents": "Documenten", "evaluation": "Evaluatie",
        "conversation": "Gesprek", "question": "Je vraag", "placeholder": "Stel een vraag…",
        "ask": "Vragen", "stop": "Stoppen", "clear": "Gesprek wissen", "examples": "Voorbeelden",
        "ingested": "Ingelezen documenten", "password": "Beheerderswachtwoord",
        "add": f"Documenten toevoegen ({_TYPES})", "ingest": "Bestanden inlezen",
        "results": "Resultaten", "remove_choice": "Een document verwijderen",
        "remove": "Verwijderen…", "confirm": "Ja, verwijderen", "keep": "Behouden",
        "charts": "Grafieken", "run_eval": "Evaluatie op de dev-set starten",
        "cancel_eval": "Evaluatie annuleren",
        "eval_password": "Beheerderswachtwoord: hiermee start je de evaluatie op de dev-set",
    },
    "fr": {
        "intro": "# Kenbron\nPosez vos questions en français, Nederlands ou English. Chaque affirmation "
                 "renvoie au passage d'où elle vient — ou vous obtenez un honnête « les documents ne "
                 "le disent pas ».",
        "chat": "Discussion", "documents": "Documents", "evaluation": "Évaluation",
        "conversation": "Conversation", "question": "Votre question",
        "placeholder": "Posez une question…", "ask": "Demander", "stop": "Arrêter",
        "clear": "Effacer la discussion", "examples": "Exemples", "ingested": "Documents indexés",
        "password": "Mot de passe administrateur", "add": f"Ajouter des documents ({_TYPES})",
        "ingest": "Indexer les fichiers", "results": "Résultats",
        "remove_choice": "Supprimer un document", "remove": "Supprimer…",
        "confirm": "Oui, le supprimer", "keep": "Le garder", "charts": "Graphiques",
        "run_eval": "Lancer l'évaluation sur le jeu de développement",
        "cancel_eval": "Annuler l'évaluation",
        "eval_password": "Mot de passe administrateur : permet de lancer l'évaluation",
    },
}

# label("ask") is the key; the browser shows it in the visitor's language
label = gr.I18n(**LABELS)


def browser_language(request: gr.Request | None) -> str:
    """The first of en, nl, fr the visitor's browser asks for (its Accept-Language), else en: the
    language of what the server writes into the page itself (progress, waiting lines)."""
    header = (request.headers.get("accept-language", "") if request is not None else "") or ""
    for part in header.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LABELS:
            return code
    return "en"
