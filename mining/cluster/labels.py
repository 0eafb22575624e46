"""What a cluster is about, in words: keywords by class-based TF-IDF, a name, its central examples.

Why class-based TF-IDF (as BERTopic does it): all texts of a cluster are one document, and a term
scores by how often it appears in that cluster times how rare it is across clusters. Words every
failure shares ("please", "order") sink; the words that set a mode apart rise. Names are made from
the top keywords so that a reviewer can tell modes apart at a glance and rename the ones that
matter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mining.cluster.algorithms import NOISE

KEYWORDS = 10
NAME_WORDS = 4
EXAMPLES = 5
# Chat filler: greetings, thanks and their shorthand say nothing about what went wrong, yet a mode of
# short chat messages ("hello, vm thx") would otherwise be named after them.
CHAT_FILLER = frozenset("""
    hi hello hey heya hiya howdy yo hii helo hellp morning evening afternoon greetings
    thanks thank thx thnx thanx tnx ty tysm cheers appreciated appreciate pls plz please kindly
    ok okay okey kk yes yeah yep yup nope sure cool great awesome lol haha hmm umm uh oh
    bye goodbye cya sorry sry dear sir madam guys team
""".split())


@dataclass(frozen=True)
class Label:
    """One cluster's words: its keywords (best first) and the name made from them."""

    keywords: list[str]
    name: str


def class_tfidf_keywords(texts: list[str], labels: np.ndarray, top: int = KEYWORDS) -> dict[int, list[str]]:
    """The `top` keywords of every cluster label (noise excluded), best first.

    Unigrams and bigrams, English stop words removed. c-TF-IDF weight of term t in class c:
    tf(t, c) / words(c) * log(1 + mean words per class / frequency of t over all classes).
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    clusters = sorted(int(label) for label in np.unique(labels) if label != NOISE)
    if not clusters:
        return {}
    documents = [" ".join(texts[i] for i in np.flatnonzero(labels == label)) for label in clusters]
    stop_words = sorted(ENGLISH_STOP_WORDS | CHAT_FILLER)
    vectorizer = CountVectorizer(stop_words=stop_words, ngram_range=(1, 2), token_pattern=r"(?u)\b[^\W\d_]{2,}\b")
    try:
        counts = vectorizer.fit_transform(documents).toarray().astype(np.float64)
    except ValueError:  # every text is stop words or numbers: nothing to say
        return {label: [] for label in clusters}
    words_per_class = counts.sum(axis=1, keepdims=True)
    term_frequency = counts / np.maximum(words_per_class, 1)
    idf = np.log(1 + words_per_class.mean() / np.maximum(counts.sum(axis=0), 1))
    weights = term_frequency * idf
    vocabulary = vectorizer.get_feature_names_out()
    result = {}
    for row, label in enumerate(clusters):
        order = np.argsort(-weights[row], kind="stable")
        result[label] = [str(vocabulary[i]) for i in order[:top * 2] if weights[row, i] > 0]
        result[label] = _drop_covered(result[label])[:top]
    return result


def _same_word(first: str, second: str) -> bool:
    """One word, or a shorthand of the other ("acc" and "account"), in three letters or more."""
    shorter, longer = sorted((first, second), key=len)
    return shorter == longer or (len(shorter) >= 3 and longer.startswith(shorter))


def _drop_covered(keywords: list[str]) -> list[str]:
    """Leave out a word already said by a better-ranked bigram, and a bigram of two words already
    listed; a shorthand counts as the word it shortens, so a name does not say it twice.

    "refund", "refund order", "order" says "refund order" once; "acc", "account acc" says "acc" once.
    """
    kept: list[str] = []
    for keyword in keywords:
        said = [word for phrase in kept for word in phrase.split()]
        if all(any(_same_word(word, other) for other in said) for word in keyword.split()):
            continue
        kept.append(keyword)
    return kept


def name_from_keywords(keywords: list[str], fallback: str) -> str:
    """The first few keywords joined: 'refund, charged twice, card'."""
    words: list[str] = []
    for keyword in keywords:
        if len(" ".join(words).split()) >= NAME_WORDS:
            break
        words.append(keyword)
    return ", ".join(words) if words else fallback


def distinct_name(name: str, keywords: list[str], taken: set[str], cluster_id: int) -> str:
    """`name`, or when another mode has it (case-insensitively), that name plus its next keyword."""
    if name.lower() not in taken:
        return name
    said = set(name.lower().split(", "))
    for keyword in keywords:
        if keyword.lower() not in said and f"{name}, {keyword}".lower() not in taken:
            return f"{name}, {keyword}"
    return f"{name} (mode {cluster_id})"


def labels_for(texts: list[str], labels: np.ndarray) -> dict[int, Label]:
    """Keywords and a name for every cluster."""
    keywords = class_tfidf_keywords(texts, labels)
    return {label: Label(words, name_from_keywords(words, f"mode {label}")) for label, words in keywords.items()}


def central_examples(vectors: np.ndarray, labels: np.ndarray, texts: list[str], centre: np.ndarray,
                     label: int, count: int = EXAMPLES) -> list[int]:
    """Row numbers of the `count` members most similar to the centroid, one per distinct text."""
    members = np.flatnonzero(labels == label)
    order = members[np.argsort(-(vectors[members] @ centre), kind="stable")]
    chosen: list[int] = []
    seen: set[str] = set()
    for row in order:
        key = " ".join(texts[row].lower().split())
        if key in seen:
            continue
        seen.add(key)
        chosen.append(int(row))
        if len(chosen) == count:
            break
    return chosen
