"""Who acts on whom: agents and targets of acts of force, on hand-made sentences."""

from __future__ import annotations

import pytest

from classifier.features.roles import role_features
from classifier.features.topics import KINDS, TopicFeatures, _kind_of


def roles(text: str) -> set[str]:
    return {name for name in role_features(text, _kind_of()) if not name.startswith("lead ")}


@pytest.mark.parametrize(
    ("text", "agent", "target"),
    [
        ("Police shot dead two militants", "FORCES", "ARMED_GROUP"),
        ("Militants shot dead two policemen", "ARMED_GROUP", "FORCES"),
        ("Troops killed 12 rebels near the border", "FORCES", "ARMED_GROUP"),
        ("Rebels ambushed an army convoy", "ARMED_GROUP", "FORCES"),
        ("Two soldiers were killed by gunmen on Friday.", "ARMED_GROUP", "FORCES"),
        ("A policeman was shot dead by unidentified assailants while on duty.", "ARMED_GROUP", "FORCES"),
        ("Three militants were arrested by the police in a raid.", "FORCES", "ARMED_GROUP"),
        ("Gunmen attacked villagers at a market", "ARMED_GROUP", "CIVILIANS"),
    ],
)
def test_the_agent_and_the_target_of_an_act(text, agent, target):
    found = roles(text)
    assert any(name.startswith(f"{agent} ") and name.endswith(f" {target}") for name in found), found
    assert not any(name.startswith(f"{target} ") and name.endswith(f" {agent}") for name in found), found


def test_a_bare_participle_before_a_preposition_is_passive():
    assert "HARM target FORCES" in roles("Six soldiers killed in roadside blast")
    assert "HARM agent FORCES" not in roles("Six soldiers killed in roadside blast")


def test_an_act_told_in_the_headline_or_first_sentence_is_also_a_lead_feature():
    names = role_features("Police kill two militants\n\nOfficials said. Later rebels attacked the police.", _kind_of())
    assert "lead FORCES HARM ARMED_GROUP" in names
    assert "ARMED_GROUP ATTACK FORCES" in names and "lead ARMED_GROUP ATTACK FORCES" not in names


def test_each_listed_word_has_one_kind():
    listed = [word for words in KINDS.values() for word in words.split()]
    assert len(listed) == len(set(listed))


def test_the_features_tell_the_two_orders_apart():
    features = TopicFeatures(lead_chars=0).fit(["x"])
    police, militants = features.transform(["Police shot dead two militants", "Militants shot dead two policemen"])
    without = TopicFeatures(lead_chars=0, roles=False).fit(["x"])
    plain = without.transform(["Police shot dead two militants", "Militants shot dead two policemen"])
    assert (police != militants).nnz > (plain[0] != plain[1]).nnz


# Stories whose words the role features and the word block split differently: accents, other scripts,
# superscripts, combining marks and the two letters whose lower case is ASCII (İ, the Kelvin sign) next to
# act words; apostrophes, underscores and hyphens; and stories with no act at all.
_EDGES = [
    "Troops éattack the town\n\nPolice killedü two",
    "İattack by rebels",
    "\u212aILLED troops",
    "raid² raided",
    "attack\u0301 soldiers",
    "rock'n'attack",
    "x'ab2attack rebels",
    "Soldiers 🙂killed militants",
    "ATTACK’s aftermath",
    "police_raid",
    "naïvekilled",
    "re-killed",
    "The council approved the budget.\n\nMembers voted on Tuesday.",
    "",
]


def test_stories_passed_over_for_roles_hold_no_role_feature(monkeypatch):
    import numpy as np

    import classifier.features.topics as topic_features

    texts = (
        _EDGES + [t.upper() for t in _EDGES] + ["Police shot dead two militants", "Militants shot dead two policemen"]
    )
    features = TopicFeatures(lead_chars=0).fit(["x"])
    skipping = features.transform(texts)
    monkeypatch.setattr(topic_features, "_may_tell_acts", lambda batch, docs, hashes: np.ones(len(batch), dtype=bool))
    reading_all = features.transform(texts)
    assert (skipping != reading_all).nnz == 0
    assert np.array_equal(skipping.indices, reading_all.indices) and np.array_equal(skipping.data, reading_all.data)


def test_only_stories_with_an_act_word_or_other_letters_are_read_for_roles():
    from classifier.features.tokens import LineBatch
    from classifier.features.topics import _may_tell_acts

    texts = ["Police raided a camp", "The council met on Tuesday", "Le conseil s'est réuni", "Troops’ convoy"]
    batch = LineBatch.from_texts(texts)
    docs, hashes, is_word = batch.tokens
    assert list(_may_tell_acts(batch, docs[is_word], hashes[is_word])) == [True, False, True, False]
