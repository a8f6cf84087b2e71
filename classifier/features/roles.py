"""Who acts on whom: the agent and the target of each act of force in a story, by kind of actor.

"Police shot dead two militants" and "militants shot dead two policemen"
hold the same words; what tells the tags apart is who did it to whom. For
each word of an act (a force action, an attack, combat, harm done: the kinds of
:data:`~classifier.features.topics.KINDS`) in a sentence, the nearest actor
(state forces, an armed group, civilians) before it is its agent and the
nearest after it its target, unless the act is told in the passive
("two soldiers were killed", "troops killed in a blast", "... by
gunmen"): then the actor before it is the target and the one after "by"
the agent. Each act gives features such as ``HARM agent FORCES``,
``HARM target ARMED_GROUP`` and ``FORCES HARM ARMED_GROUP``, again marked
as lead features when it is told in the headline or the first sentence,
where a story says what it is about.

The rules are English word order; they are cheap (a pass over the words
of the first sentences) and wrong at times, and the model weighs them
against everything else it reads.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

ACTORS = frozenset({"FORCES", "ARMED_GROUP", "CIVILIANS"})
ACTS = frozenset({"FORCE_ACTION", "ATTACK", "HARM", "COMBAT"})
# Words that make the act after them passive ("were killed", "has been arrested").
_AUXILIARIES = frozenset("was were been being is are be get got gets".split())
# Words that may stand between an auxiliary and the act ("were later killed").
_BETWEEN = frozenset("also later reportedly allegedly then all both critically seriously fatally badly".split())
# After a bare participle, these say it was done to the actor before it ("troops killed in a blast").
_AFTER_PASSIVE = frozenset(
    "in at near during after when while as on by following outside inside since before and , . ; :".split()
)
# Words before an act that make it a noun ("in a raid", "the blast"): the actor before it did not do it.
_NOUN_MARKERS = frozenset("a an the in of at during after this its their his her suicide roadside car".split())
# Words that finish the act's phrase and are skipped ("shot dead", "opened fire").
_PARTICLES = frozenset("dead fire up down off".split())
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[,.;:!?\n]")
_SENTENCE_END = frozenset(".!?;\n")
# How far (in words) an actor may be from its act.
_REACH_BEFORE = 8
_REACH_AFTER = 6


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _sentences(text: str) -> Iterable[list[str]]:
    sentence: list[str] = []
    for token in _tokens(text):
        if token in _SENTENCE_END:
            if sentence:
                yield sentence
            sentence = []
        else:
            sentence.append(token)
    if sentence:
        yield sentence


def _nearest(kinds: Sequence[str | None], indexes: Iterable[int]) -> str | None:
    for i in indexes:
        if kinds[i] in ACTORS:
            return kinds[i]
    return None


def _actor_after(
    words: Sequence[str], kinds: Sequence[str | None], span: range, markers: tuple[str, ...]
) -> str | None:
    """The actor within four words after the first of ``markers`` in ``span`` ("... by gunmen", "... on a rebel camp")."""
    at = next((j for j in span if words[j] in markers), None)
    return None if at is None else _nearest(kinds, range(at + 1, min(len(kinds), at + 5)))


def _is_passive(words: Sequence[str], i: int) -> bool:
    before = [w for w in words[max(0, i - 3) : i] if w not in _BETWEEN]
    if before and before[-1] in _AUXILIARIES:
        return True
    j = i + 1
    while j < len(words) and words[j] in _PARTICLES:
        j += 1
    participle = words[i].endswith("ed") or words[i] in {"shot", "hurt", "slain", "held", "taken", "caught"}
    return participle and (j >= len(words) or words[j] in _AFTER_PASSIVE)


def act_roles(words: Sequence[str], kinds: Sequence[str | None]) -> list[tuple[str, str | None, str | None]]:
    """(act kind, agent kind, target kind) for each act word of one sentence's ``words``.

    ``kinds[i]`` is the kind of ``words[i]`` (None for other words).
    """
    found = []
    for i, kind in enumerate(kinds):
        if kind not in ACTS or (i and kinds[i - 1] in ACTS):
            continue  # not an act, or the rest of one ("shot dead", "bomb attack")
        before = _nearest(kinds, range(i - 1, max(-1, i - 1 - _REACH_BEFORE), -1))
        after_range = range(i + 1, min(len(kinds), i + 1 + _REACH_AFTER))
        if i and words[i - 1] in _NOUN_MARKERS:
            agent = _actor_after(words, kinds, after_range, ("by",))
            found.append((kind, agent, _actor_after(words, kinds, after_range, ("on", "against"))))
        elif _is_passive(words, i):
            found.append((kind, _actor_after(words, kinds, after_range, ("by",)), before))
        else:
            found.append((kind, before, _nearest(kinds, after_range)))
    return found


def role_features(
    text: str, kind_of: dict[str, str], lead_sentences: int = 1, act_words: frozenset[str] | None = None
) -> list[str]:
    """The role features of a story (its headline, when it has one, is its first paragraph).

    ``act_words``, the words of ``kind_of`` that name an act (worked out when not given), lets
    the sentences without one be passed over: most sentences of most stories.
    """
    if act_words is None:
        act_words = _act_words(kind_of)
    headline, _, rest = text.partition("\n\n")
    parts = [(headline, True), (rest, False)] if rest else [(headline, False)]
    features = []
    for part, is_title in parts:
        for number, words in enumerate(_sentences(part)):
            if act_words.isdisjoint(words):
                continue
            lead = is_title or number < lead_sentences
            for act, agent, target in act_roles(words, [kind_of.get(w) for w in words]):
                named = []
                if agent:
                    named.append(f"{act} agent {agent}")
                if target:
                    named.append(f"{act} target {target}")
                named.append(f"{agent or '-'} {act} {target or '-'}")
                features += named
                if lead:
                    features += [f"lead {name}" for name in named]
    return features


def _act_words(kind_of: dict[str, str]) -> frozenset[str]:
    return frozenset(word for word, kind in kind_of.items() if kind in ACTS)


@lru_cache(maxsize=4096)
def feature_hash(name: str) -> int:
    """A stable 64-bit hash of a feature's name (the same in every process and Python)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def role_rows(texts: Sequence[str], kind_of: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Row (text number) and hash of every role feature of ``texts``, for a hashed count matrix."""
    rows, keys = [], []
    act_words = _act_words(kind_of)
    for row, text in enumerate(texts):
        for name in role_features(text, kind_of, act_words=act_words):
            rows.append(row)
            keys.append(feature_hash(name))
    return np.asarray(rows, dtype=np.int64), np.asarray(keys, dtype=np.uint64)
