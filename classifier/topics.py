"""Topic tags: a multi-label, calibrated classifier over the story text.

The topic model reads what the segment model kept: the story, with its
headline in front when the page has one (the headline is the story's own
title, not site chrome; sidebars, menus and teasers never reach it). Its
features are hashed words and word pairs, the headline's words marked as
such, and "who does what to whom" features: the order in which kinds of
actors and actions appear within a sentence (state forces, armed groups,
force actions, attacks, politics ...). "Troops raided a rebel camp" and
"rebels attacked troops" share most of their words; their sequences of
kinds (forces → force action → armed group, armed group → attack → forces)
differ.

The taxonomy comes from the training data: every tag seen in training is a
tag of the model.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy import sparse
from sklearn import __version__ as sklearn_version
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.utils.validation import check_is_fitted

from .labels import Label
from .tokens import SENTENCE_END, LineBatch, _mix, hash_words

# Kinds of words whose order within a sentence says who does what to whom.
# Lower-case word forms; a word belongs to one kind.
KINDS: dict[str, str] = {
    "FORCES": """troops troop soldiers soldier army armies military police policemen policeman
        gendarmes gendarmerie forces marines marine paratroopers commandos navy naval warplanes
        warplane jets helicopters helicopter gunships gunship tanks tank peacekeepers peacekeeping
        guardsmen guards battalion brigade brigades artillery infantry rangers""",
    "ARMED_GROUP": """rebels rebel militants militant insurgents insurgent guerrillas guerrilla
        guerilla guerillas militia militias militiamen militiaman fighters gunmen gunman separatists
        separatist extremists extremist terrorists terrorist bombers bomber jihadists jihadist
        mujahideen taliban hamas hezbollah hizbollah qaeda farc eln tigers ltte maoists maoist
        janjaweed eta ira kidnappers kidnapper captors warlord warlords tribesmen insurgency""",
    "FORCE_ACTION": """raid raided raids raiding storm stormed storming offensive assault assaults
        operation operations crackdown sweep sweeps patrol patrols patrolling checkpoint
        checkpoints curfew siege besieged besieging arrest arrested arrests arresting detained
        detain detaining detention captured capture rescue rescued airstrike airstrikes strikes
        bombarded shelled shelling pounded deployed deploy deployment deploying seized custody
        detainees prisoners interrogation manhunt cordon retake retook recaptured""",
    "ATTACK": """attack attacked attacks attacking ambush ambushed ambushes bomb bombs bombing
        bombings blast blasts explosion explosions exploded suicide roadside kidnapped kidnapping
        kidnappings abducted abduction hostage hostages beheaded beheading executed mortar mortars
        rocket rockets grenade grenades uprising massacre""",
    "HARM": """killed kill killing killings dead died wounded injured casualties shot""",
    "POLITICS": """president presidential prime minister ministers ministry government governments
        parliament parliamentary election elections electoral vote voted voting voters ballot
        campaign campaigning candidate candidates party parties opposition cabinet senate senator
        congress congressional lawmakers legislation referendum summit talks negotiations
        negotiators diplomats diplomatic diplomacy ambassador sanctions treaty accord ceasefire
        truce peace resign resigned regime coup constitution polls chancellor premier""",
    "CONTEST": """match game games season coach league cup goal goals team teams players player
        tournament championship olympic olympics medal scored striker quarterback""",
    "BUSINESS": """shares profit profits company companies market markets stocks deal takeover
        ceo quarter revenue revenues investors sales earnings firm""",
    "CRIME": """burglary robbery robbers theft fraud murder murdered murderer drugs trafficking
        smuggling gang gangs""",
    "JUSTICE": """court trial tried sentenced convicted jailed prison charged charges verdict
        judge prosecutors acquitted""",
}
# Sentences: how far a kind sequence may run.
_BREAKS = SENTENCE_END + "\n"
# What is not part of a word, for the character n-grams.
_NON_WORD = re.compile(r"[\W_]+")
# Salts that set each family of hashed features apart.
_SALTS = {name: np.uint64(value) for name, value in (
    ("title", 0x243F6A8885A308D3), ("bigram", 0x13198A2E03707344), ("kind", 0xA4093822299F31D0),
    ("kind_title", 0x082EFA98EC4E6C89), ("kind2", 0x452821E638D01377), ("kind3", 0xBE5466CF34E90C6C),
)}
# Longest headline (in words) and how far above the story it may sit (in lines).
_HEADLINE_WORDS = (3, 30)
_HEADLINE_REACH = 6


@lru_cache(maxsize=1)
def _kind_table() -> tuple[np.ndarray, np.ndarray]:
    """Sorted word hashes of the kinds' words, and each one's kind number (1-based)."""
    words, kinds = [], []
    for number, (_, listed) in enumerate(KINDS.items(), 1):
        for word in listed.split():
            words.append(word)
            kinds.append(number)
    hashes = hash_words(words)
    order = np.argsort(hashes)
    return hashes[order], np.asarray(kinds, dtype=np.int64)[order]


def headline_of(texts: Sequence[str], labels: Sequence[int]) -> str:
    """The story's headline: the longest short line just above the first story line.

    Looks at the chrome lines among the few before the story's first line
    and takes the one with the most words, if it has between 3 and 30 and
    does not end a sentence; "" when there is none (or no story).
    """
    try:
        first = next(i for i, label in enumerate(labels) if label == Label.STORY)
    except StopIteration:
        return ""
    best = ""
    for text in texts[max(0, first - _HEADLINE_REACH) : first]:
        words = len(text.split())
        if _HEADLINE_WORDS[0] <= words <= _HEADLINE_WORDS[1] and text[-1] not in ".!?":
            if words > len(best.split()):
                best = text
    return best


def topic_text(texts: Sequence[str], labels: Sequence[int]) -> str:
    """What the topic model reads: the headline, a blank line, the story."""
    story = "\n\n".join(t for t, label in zip(texts, labels) if label == Label.STORY)
    if not story:
        return ""
    headline = headline_of(texts, labels)
    return f"{headline}\n\n{story}" if headline else story


def _count_matrix(rows: list[np.ndarray], keys: list[np.ndarray], n_rows: int, width: int) -> sparse.csr_matrix:
    """Counts of hashed keys per row, as a canonical CSR matrix (one sort, no duplicates)."""
    cells = np.concatenate(rows).astype(np.int64) * width + (np.concatenate(keys) % np.uint64(width)).astype(np.int64)
    cells, counts = np.unique(cells, return_counts=True)
    row, column = np.divmod(cells, width)
    indptr = np.searchsorted(row, np.arange(n_rows + 1))
    return sparse.csr_matrix((counts.astype(np.float64), column, indptr), shape=(n_rows, width))


class TopicFeatures(TransformerMixin, BaseEstimator):
    """Hashed words, word pairs, headline words, kind sequences and lead n-grams, tf-idf weighted.

    Two blocks, each scaled to unit length: the word block (words, word
    pairs, headline words, kind sequences) over the whole text, and a block
    of character n-grams within words over the lead (the first
    ``lead_chars`` characters: the headline and first sentences, where the
    main event is told). The n-grams catch what words split apart: name
    and word forms ("insurgen", "milit"), and inflections the kind lists miss.

    Parameters
    ----------
    n_features : int, default=2**18
        Width of the hashed word block.
    kinds : bool, default=True
        Whether to add the "who does what to whom" kind features.
    lead_chars : int, default=400
        How much of the text the character n-grams read (0: none).
    char_features : int, default=2**17
        Width of the hashed character n-gram block.
    max_chars : int, default=2500
        How much of each text is read at all: a story's topic is told in
        its first paragraphs, and the cost then no longer grows with length.
    """

    def __init__(
        self, n_features: int = 2**18, kinds: bool = True, lead_chars: int = 400, char_features: int = 2**17,
        max_chars: int = 2500,
    ):
        self.n_features = n_features
        self.kinds = kinds
        self.lead_chars = lead_chars
        self.char_features = char_features
        self.max_chars = max_chars

    def fit(self, X: Sequence[str], y=None) -> "TopicFeatures":
        blocks = self._blocks(X)
        self.idf_ = [
            np.log((1.0 + len(X)) / (1.0 + np.bincount(block.indices, minlength=block.shape[1]))) + 1.0
            for block in blocks
        ]
        return self

    def transform(self, X: Sequence[str]) -> sparse.csr_matrix:
        check_is_fitted(self, "idf_")
        weighted = []
        for counts, idf in zip(self._blocks(X), self.idf_):
            counts.data = np.log1p(counts.data) * idf[counts.indices]
            norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
            weighted.append(sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ counts)
        return sparse.hstack(weighted, format="csr")

    def _blocks(self, X: Sequence[str]) -> list[sparse.csr_matrix]:
        texts = [text[: self.max_chars] for text in X]
        blocks = [self._counts(texts)]
        if self.lead_chars:
            blocks.append(self._lead_ngrams(texts))
        return blocks

    def _lead_ngrams(self, texts: list[str]) -> sparse.csr_matrix:
        """Counts of character 2- to 5-grams within the lead's words (padded by a space each side)."""
        leads = [" " + _NON_WORD.sub(" ", text[: self.lead_chars].lower()).strip() + " " for text in texts]
        joined = "\0".join(leads)
        points = np.frombuffer(joined.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32).astype(np.uint64)
        doc = np.cumsum(points == 0)  # lead of each character (separators belong to the next)
        space = np.concatenate([[0], np.cumsum(points == 32)])
        rows, keys = [], []
        hashes = points.copy()
        with np.errstate(over="ignore"):
            for n in range(2, 6):
                hashes = hashes[:-1] * np.uint64(1_000_003) + points[n - 1 :]
                start = np.arange(len(hashes))
                # Inside one lead, with spaces only at the ends of the window.
                ok = (doc[start] == doc[start + n - 1]) & (space[start + n - 1] - space[start + 1] == 0)
                ok &= points[start] != 0
                rows.append(doc[start[ok]])
                keys.append(_mix(hashes[ok] ^ np.uint64(n)))
        return _count_matrix(rows, keys, len(texts), self.char_features)

    def _counts(self, texts: list[str]) -> sparse.csr_matrix:
        """Counts of the word block's hashed features."""
        batch = LineBatch.from_texts(texts)
        docs, hashes, is_word = batch.tokens
        positions = batch.token_positions
        docs, hashes, positions = docs[is_word], hashes[is_word], positions[is_word]
        rows, keys = [docs], [hashes]
        # The headline (the first paragraph when there are more) is marked as such.
        title_end = batch.starts + np.array([t.find("\n\n") for t in texts], dtype=np.int64)
        in_title = positions < title_end[docs]
        rows.append(docs[in_title])
        keys.append(hashes[in_title] ^ _SALTS["title"])
        same_doc = docs[1:] == docs[:-1]
        with np.errstate(over="ignore"):
            rows.append(docs[1:][same_doc])
            keys.append(_mix(hashes[:-1][same_doc] * np.uint64(31) + hashes[1:][same_doc]) ^ _SALTS["bigram"])
        if self.kinds and len(hashes):
            kind_rows, kind_keys = self._kind_features(batch, docs, hashes, positions, in_title)
            rows += kind_rows
            keys += kind_keys
        return _count_matrix(rows, keys, len(texts), self.n_features)

    def _kind_features(self, batch, docs, hashes, positions, in_title):
        table, kinds = _kind_table()
        at = np.minimum(np.searchsorted(table, hashes), len(table) - 1)
        found = np.flatnonzero(table[at] == hashes)
        kind = kinds[at][found]
        docs, positions, in_title = docs[found], positions[found], in_title[found]
        # Sentence of each kind word: count the breaks before it.
        breaks = np.flatnonzero(np.isin(batch.points, [ord(c) for c in _BREAKS]))
        sentence = np.searchsorted(breaks, positions)
        rows = [docs, docs[in_title]]
        keys = [_SALTS["kind"] ^ kind.astype(np.uint64), _SALTS["kind_title"] ^ kind[in_title].astype(np.uint64)]
        if not len(kind):
            return rows, keys
        # Runs of one kind count once; then neighbours in order make pairs and triples.
        same = np.concatenate([[False], (docs[1:] == docs[:-1]) & (sentence[1:] == sentence[:-1])])
        keep = ~(same & np.concatenate([[False], kind[1:] == kind[:-1]]))
        docs, kind, sentence = docs[keep], kind[keep], sentence[keep]
        same = np.concatenate([[False], (docs[1:] == docs[:-1]) & (sentence[1:] == sentence[:-1])])
        pair = np.flatnonzero(same)
        rows.append(docs[pair])
        keys.append(_mix((kind[pair - 1] * 64 + kind[pair]).astype(np.uint64)) ^ _SALTS["kind2"])
        triple = pair[same[pair - 1]] if len(pair) else pair
        rows.append(docs[triple])
        keys.append(
            _mix((kind[triple - 2] * 4096 + kind[triple - 1] * 64 + kind[triple]).astype(np.uint64)) ^ _SALTS["kind3"]
        )
        return rows, keys


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label topic classifier: one calibrated logistic regression per tag.

    Each tag's regression is fitted on all the data; its calibration (a
    sigmoid by default) is fitted on the regression's out-of-fold scores.

    Parameters
    ----------
    features : transformer, default=None
        Text features (:class:`TopicFeatures` when None).
    C : float, default=10.0
        Inverse regularisation of each tag's logistic regression.
    calibration : {"sigmoid", "isotonic"}, default="sigmoid"
        How each tag's scores are calibrated (on internal folds).
    cv : int, default=5
        Folds of the calibration.

    Notes
    -----
    ``X`` is a sequence of texts, ``y`` a sequence of tag lists. The tags
    (``classes_``) are whatever tags ``y`` holds.
    """

    def __init__(self, features=None, C: float = 10.0, calibration: str = "sigmoid", cv: int = 5):
        self.features = features
        self.C = C
        self.calibration = calibration
        self.cv = cv

    def fit(self, X: Sequence[str], y: Sequence[Sequence[str]], sample_weight=None) -> "TopicClassifier":
        """Fit one calibrated model per tag found in ``y``.

        Parameters
        ----------
        X : sequence of str
            Texts, as :func:`topic_text` makes them.
        y : sequence of sequences of str
            The tags of each text (possibly none).
        sample_weight : array-like, shape (n,), optional
        """
        if len(X) != len(y):
            raise ValueError(f"{len(X)} texts but {len(y)} tag lists")
        self.binarizer_ = MultiLabelBinarizer().fit(y)
        indicators = self.binarizer_.transform(y)
        for tag, positives in zip(self.binarizer_.classes_, indicators.sum(axis=0)):
            if positives < self.cv or positives > len(y) - self.cv:
                raise ValueError(f"tag {tag!r} has {positives} positive examples of {len(y)}: too few to learn")
        self.features_ = clone(self.features if self.features is not None else TopicFeatures()).fit(X)
        matrix = self.features_.transform(X)
        base = LogisticRegression(C=self.C, max_iter=5000)
        self.estimators_ = [
            CalibratedClassifierCV(base, method=self.calibration, cv=self.cv, ensemble=False).fit(
                matrix, indicators[:, j], sample_weight=sample_weight
            )
            for j in range(indicators.shape[1])
        ]
        self.classes_ = np.array(self.binarizer_.classes_)
        self.sklearn_version_ = sklearn_version
        return self

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Probability of each tag, shape (n, n_tags), in ``classes_`` order."""
        check_is_fitted(self, "estimators_")
        if len(X) == 0:
            return np.zeros((0, len(self.classes_)))
        matrix = self.features_.transform(X)
        return np.column_stack([model.predict_proba(matrix)[:, 1] for model in self.estimators_])

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """Tag indicators at 0.5, shape (n, n_tags)."""
        return (self.predict_proba(X) >= 0.5).astype(np.int64)


def build_topic_pipeline() -> TopicClassifier:
    """The topic classifier, unfitted: the one place it is built."""
    features = TopicFeatures(n_features=2**18, kinds=True, lead_chars=400, char_features=2**17, max_chars=2500)
    return TopicClassifier(features=features, C=10.0, calibration="sigmoid", cv=5)
