"""Features, scores and languages that mean the same in every script (synthetic lines, no model)."""

import json
from pathlib import Path

import numpy as np
import pytest

from classifier.corpus.alignment import words
from classifier.corpus.webpages import story_body
from classifier.features.dom import dense_names, dom_parts
from classifier.features.lines import line_features
from classifier.features.pages import PageIndex
from classifier.features.tokens import LineBatch
from classifier.inputs.decoding import decode_html
from classifier.model import language
from classifier.model.language import language_of, languages_of
from classifier.segment.html import split_html
from classifier.segment.text import split_text


def features_of(text):
    values, names = line_features(split_text(text))
    return {name: values[:, i] for i, name in enumerate(names)}


def test_each_character_of_a_script_without_spaces_is_a_word():
    batch = LineBatch.from_texts(["北京时间今天上午", "CNN新闻 today", "東京で地震があった"])
    assert batch.per_line(batch.word_starts).tolist() == [8, 4, 9]


def test_vowel_signs_and_joiners_stay_inside_their_word():
    batch = LineBatch.from_texts(["हिंदी में समाचार", "می\u200cخواهم"])
    assert batch.per_line(batch.word_starts).tolist() == [3, 1]


def test_sentences_end_in_every_script():
    f = features_of("他说。她也说。\nهل هذا صحيح؟ نعم.\nयह अच्छा है। वह भी।\nMenu")
    assert f["log_sentences"][:3].tolist() == pytest.approx([np.log1p(2)] * 3)
    assert f["ends_sentence"].tolist() == [1, 1, 1, 0]


def test_dates_are_found_in_other_scripts_and_calendars():
    f = features_of("٢٠٢٤/٠٣/١٢\n2024年3月5日\n12 марта\n5 de março de 2024\nनई दिल्ली\nHello there")
    assert f["dates"][:4].tolist() == [1, 3, 1, 2] and f["dates"][4:].tolist() == [0, 0]


def test_case_features_know_when_a_script_has_no_case():
    f = features_of("الجيش يطلق عملية\nThe Army Acts\n军队行动")
    assert f["cased_ratio"].tolist() == [0, 1, 0]
    assert f["solo_ratio"].tolist() == [0, 0, 1]


def test_function_words_are_counted_without_spaces_too():
    f = features_of("他在北京说了这是他的事\n新闻首页体育财经")
    assert f["stop_ratio"][0] > 0.3 and f["stop_ratio"][1] == 0


def test_a_list_of_repeated_records_reads_as_periodic_and_a_run_of_paragraphs_does_not():
    paragraph = "The talks went on for hours and the ministers agreed to meet again on Friday in the capital city."
    story = "\n".join([paragraph] * 12)
    teasers = "\n".join(f"Headline number {i} about a thing\n12 May 2024\n{paragraph}" for i in range(6))
    assert features_of(story)["periodic_best"].max() == 0
    assert np.median(features_of(teasers)["periodic_best"]) > 0.5


def test_a_list_of_teasers_counts_its_records_where_paragraphs_share_one_parent():
    html = (
        "<article><div class='body'>" + "<p>A story paragraph.</p>" * 5 + "</div></article>"
        "<aside><ul>" + "".join(f"<li><h3>Title {i}</h3><p>Blurb {i}.</p></li>" for i in range(8)) + "</ul></aside>"
    )
    segments = split_html(html).segments
    parts = dom_parts(segments, PageIndex.from_segments(segments), 2**10)
    records = np.expm1(parts.dense[:, dense_names().index("log_path_records")]).round()
    assert records[:5].tolist() == [1] * 5 and records[5:].tolist() == [8] * 16


def test_scores_count_characters_of_scripts_without_spaces_and_whole_words_elsewhere():
    assert words("北京今天") == ["北", "京", "今", "天"]
    assert words("Hello, World CNN新闻") == ["hello", "world", "cnn", "新", "闻"]
    assert len(words("हिंदी में समाचार")) == 3
    assert words("Straße café") == ["straße", "café"]


def test_the_language_of_a_story_or_none():
    assert language_of("Die Bundesregierung hat am Montag neue Maßnahmen gegen die Inflation angekündigt.") == "de"
    assert language_of("Правительство объявило в понедельник о новых мерах поддержки.") == "ru"
    assert language_of("Menu") is None
    assert language_of("") is None


def corpus_stories():
    """Our multilingual pages' texts, each whole, its second half and its first 40 characters (13 languages)."""
    path = Path(__file__).parent.parent / "training/corpus/multilingual.jsonl"
    texts = [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()]
    return [part for text in texts for part in (text, text[len(text) // 2 :], text[:40])]


def test_stories_read_together_get_the_language_each_gets_alone():
    texts = [
        *corpus_stories(),
        "",
        "Menu",
        "ÉCOLE NATIONALE SUPÉRIEURE — ACCUEIL ET INSCRIPTIONS",
        "..... ----- ..... -----",
    ]
    together = languages_of(texts)
    assert together == [language_of(text) for text in texts]
    assert {"ar", "de", "ja", "ru", "zh"} <= set(together) and None in together


def test_the_identifier_scores_texts_read_together_as_it_scores_each():
    texts = [text[: language.READ_CHARS] for text in corpus_stories()]
    identifier = language._identifier()
    for i in range(0, len(texts), 64):  # in chunks, as labelling reads stories
        alone = [identifier.classify(text) for text in texts[i : i + 64]]
        together = language._classify_many(texts[i : i + 64])
        assert [code for code, _ in together] == [code for code, _ in alone]
        assert np.allclose([p for _, p in together], [p for _, p in alone], rtol=0, atol=1e-4)
    assert language._classify_many([]) == []


def test_an_identifier_this_module_does_not_know_classifies_each_text_itself(monkeypatch):
    from py3langid import langid

    texts = [text[: language.READ_CHARS] for text in corpus_stories()[:30]]
    own = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)  # not from the cached arrays
    monkeypatch.setattr(language, "_identifier", lambda: own)
    language._walk_tables.cache_clear()
    try:
        assert language._walk_tables() is None
        assert language._classify_many(texts) == [own.classify(text) for text in texts]
        assert languages_of(texts) == [language_of(text) for text in texts]
    finally:
        language._walk_tables.cache_clear()


def test_html_that_is_utf8_is_read_as_utf8_whatever_it_declares():
    page = "<meta charset='iso-8859-1'><p>café – naïve</p>"
    assert "café – naïve" in decode_html(page.encode("utf-8"))
    assert "café" in decode_html(page.replace(" – ", " ").encode("latin-1"))
    assert "中文" in decode_html("<meta charset='gb2312'><p>中文</p>".encode("gb18030"))


def test_the_headline_at_the_head_of_a_gold_text_is_not_story_for_training():
    gold = "Troops retake the town\n\nSoldiers took the town on Friday."
    assert story_body(gold, "Troops retake the town - The Courier") == "\nSoldiers took the town on Friday."
    assert story_body(gold, "The Courier") == gold
    assert story_body("Soldiers took the town.", "") == "Soldiers took the town."
