"""Baselines scored beside every fine-tuned model: TF-IDF + logistic regression (classification), a citation
regex (extraction), and the trivial ones (majority class, no spans)."""

from __future__ import annotations

import re

import numpy as np

from docketbert.downstream.examples import Example

# Entry-number citations: a number list after "related document(s)", "RE:", "Doc. No.", "granting/denying", ...
_LEAD = re.compile(
    r"(?:related\s+documents?(?:\(s\))?|re:|regarding|doc(?:ument)?s?\.?\s*(?:no\.?|#)|dkt\.?\s*(?:no\.?)?|"
    r"d\.e\.|ecf\s+no\.?|granting|denying|(?:and|to|for|on|of|in)\s+(?=\d+\s+[A-Z]))\s*:?\s*",
    re.IGNORECASE,
)
_LIST = re.compile(r"\d+(?:\s*(?:,|and|&)\s*\d+)*")
_NUM = re.compile(r"\d+")


def regex_spans(text: str) -> list[tuple[int, int]]:
    """Numbers (and comma/and lists of numbers) right after a citation cue; dates, case numbers and
    '#'-attachment numbers are not followed or led by the cues."""
    spans = []
    for lead in _LEAD.finditer(text):
        lst = _LIST.match(text, lead.end())
        if not lst:
            continue
        after = text[lst.end() : lst.end() + 1]
        if after in ("/", "-", ".", ":") and text[lst.end() + 1 : lst.end() + 2].isdigit():
            continue  # a date, a case number or an amount
        spans.extend((m.start() + lst.start(), m.end() + lst.start()) for m in _NUM.finditer(lst.group()))
    return sorted(set(spans))


LEAD_WORDS = 6  # the first words of an entry get features of their own: the filing event is named there


def _lead(text: str, words: int) -> str:
    return " ".join(["<start>", *text.split()[:words]])


def tfidf_logreg(
    train: list[Example], evaluate: list[Example], multi: bool = False, seed: int = 0, lead_words: int = LEAD_WORDS
) -> list[list[str]]:
    """Word 1-2-gram + char 3-5-gram TF-IDF of the text, plus word 1-3-grams of its first `lead_words` words (0: none),
    logistic regression (one-vs-rest for multi-label). The lead features are there because the filing event is named in
    an entry's first words (their effect on held-out cases: BENCHMARKS.md, "Does domain pretraining pay downstream?").
    Multi-label: every label with a positive decision value, or the highest one when none is."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    views = [
        (TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True), lambda t: t),
        (
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3, sublinear_tf=True, max_features=20000),
            lambda t: t,
        ),
    ]
    if lead_words:
        views.append(
            (
                TfidfVectorizer(ngram_range=(1, 3), sublinear_tf=True, token_pattern=r"\S+"),
                lambda t: _lead(t, lead_words),
            )
        )
    x_train = hstack([vec.fit_transform([view(ex.text) for ex in train]) for vec, view in views]).tocsr()
    x_eval = hstack([vec.transform([view(ex.text) for ex in evaluate]) for vec, view in views]).tocsr()
    # One-vs-rest liblinear: much faster here than multinomial lbfgs.
    names = sorted({label for ex in train for label in ex.labels})
    index = {name: i for i, name in enumerate(names)}
    y = np.zeros((len(train), len(names)), dtype=int)
    for row, ex in enumerate(train):
        y[row, [index[label] for label in ex.labels]] = 1
    clf = OneVsRestClassifier(
        LogisticRegression(C=10.0, max_iter=300, class_weight="balanced", solver="liblinear", random_state=seed)
    )
    clf.fit(x_train, y if multi else y.argmax(1))
    scores = clf.decision_function(x_eval)
    if not multi:
        return [[names[clf.classes_[i]]] for i in scores.argmax(1)]
    return [[names[i] for i in np.flatnonzero(row > 0)] or [names[int(row.argmax())]] for row in scores]
