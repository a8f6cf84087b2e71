"""The topic stage: tags from the data, calibrated probabilities, the lazy filter and its CLI."""

import contextlib
import itertools
import json

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from classifier import LabeledDocument, load_model
from classifier.cli.app import app
from classifier.corpus.documents import read_training_jsonl
from classifier.errors import InputError
from classifier.features.topics import TopicFeatures
from classifier.model.topics import (
    CompactLogistic,
    NaiveBayesLogistic,
    TopicClassifier,
    headline_of,
    topic_text,
)
from classifier.records import Label

from .conftest import CORPUS_ITEMS, CORPUS_PAGES, write_jsonl

runner = CliRunner()

RAID = (
    "Troops storm rebel camp in northern hills\n\n"
    "Government troops raided a rebel camp in the northern hills on Tuesday, the army said, "
    "capturing weapons and arresting eleven fighters of the armed group after a two-hour gun battle. "
    "Soldiers then set up checkpoints on the roads out of the valley."
)
MATCH = (
    "United edge derby after late winner\n\n"
    "A header three minutes from time gave United a 2-1 win over their neighbours on Saturday. "
    "The coach praised his defence, which held firm against a late attack, and the striker's goal "
    "lifts the team to third in the league."
)
MENU_ONLY = "Home\nWorld\nSport\nBusiness\nWeather\nSign in\nSubscribe\nCookie settings\n"


def records(output):
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_kind_order_tells_who_does_what_to_whom():
    features = TopicFeatures(n_features=2**16).fit(["x"])
    raid, attack = features.transform(["troops raided a rebel camp", "rebels attacked troops"])
    only_in_raid = set(raid.indices) - set(attack.indices)
    only_in_attack = set(attack.indices) - set(raid.indices)
    bare = TopicFeatures(n_features=2**16, kinds=False).fit(["x"])
    raid_words, attack_words = bare.transform(["troops raided a rebel camp", "rebels attacked troops"])
    # The kind features add columns of their own to each sentence.
    assert len(only_in_raid) > len(set(raid_words.indices) - set(attack_words.indices))
    assert len(only_in_attack) > len(set(attack_words.indices) - set(raid_words.indices))


def test_features_are_each_block_scaled_to_unit_length_then_side_by_side():
    texts = [RAID, MATCH, "", "Police.", RAID + "\n\n" + MATCH]
    features = TopicFeatures(n_features=2**12, char_features=2**10).fit(texts)
    expected = []
    for counts, idf in zip(features._blocks(texts), features.idf_):  # in sparse-matrix operations
        counts.data = np.log1p(counts.data) * idf[counts.indices]
        norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
        expected.append(sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ counts)
    expected = sparse.hstack(expected, format="csr")
    for rows in ([0, 1, 2, 3, 4], [2], [4, 0]):
        got = features.transform([texts[i] for i in rows])
        want = expected[rows]
        assert got.shape == want.shape
        # The same values in the same order: the tag models' sums come out the same to the last bit.
        assert np.array_equal(got.indptr, want.indptr) and np.array_equal(got.indices, want.indices)
        assert np.array_equal(got.data, want.data)
    norms = np.sqrt(np.asarray(got.multiply(got).sum(axis=1)).ravel())
    assert np.allclose(norms, np.sqrt(2.0))  # two blocks of unit length


def test_counts_are_the_same_whichever_width_their_cells_are_sorted_in():
    from classifier.features.topics import _count_matrix

    rng = np.random.default_rng(0)
    rows = [np.sort(rng.integers(0, 5, 400)), rng.integers(0, 5, 50)]
    keys = [rng.integers(0, 2**63, 400, dtype=np.uint64), rng.integers(0, 2**63, 50, dtype=np.uint64)]
    small = _count_matrix(rows, keys, 5, 2**10)  # cells in 32 bits
    large = _count_matrix(rows, keys, 2**22, 2**10)  # too many rows for 32 bits: 64
    assert small.nnz < 450  # some keys fall in the same cell and are added up
    assert small.sum() == 450
    top = large[:5]
    assert np.array_equal(small.indptr, top.indptr) and np.array_equal(small.indices, top.indices)
    assert np.array_equal(small.data, top.data)


def small_items():
    """Items of two tags in several wordings (enough for folds of two)."""
    raids = [RAID, "Police arrested six militants in a raid on a hideout.", "Soldiers stormed the rebel base at dawn."]
    matches = [
        MATCH,
        "The striker scored twice as the team won the cup.",
        "A late goal gave the visitors the league title.",
    ]
    texts = [text + f" Day {day}." for day in range(4) for text in raids + matches]
    tags = [[tag] for _ in range(4) for tag in ["security_operation"] * 3 + ["contest"] * 3]
    return texts, tags


def test_naive_bayes_ratios_weigh_the_words_that_tell_the_classes_apart():
    X = sparse.csr_matrix(np.array([[1, 1, 0], [2, 1, 0], [0, 1, 1], [0, 1, 3]], dtype=float))
    y = np.array([1, 1, 0, 0])
    model = NaiveBayesLogistic(C=1.0).fit(X, y)
    # Present in both classes alike: a ratio of 1, no weight; in the positives only, or the others only.
    assert model.coef_[0, 0] > 0 > model.coef_[0, 2] and model.coef_[0, 1] == 0.0
    # A regression on the weighted features, applied to the features with its weights times the ratios.
    ratios = np.log(np.array([3 / 7, 3 / 7, 1 / 7]) / np.array([1 / 7, 3 / 7, 3 / 7]))  # presence counts + 1
    weighted = X.multiply(ratios).tocsr()
    regression = LogisticRegression(C=1.0, max_iter=5000).fit(weighted, y)
    assert np.allclose(model.decision_function(X), regression.decision_function(weighted), rtol=1e-5)
    assert np.allclose(model.predict_proba(X).sum(axis=1), 1.0) and model.predict(X).tolist() == [1, 1, 0, 0]
    # An array does as well as a sparse matrix; a weight of 2 as the row twice.
    assert np.array_equal(NaiveBayesLogistic(C=1.0).fit(X.toarray(), y).coef_, model.coef_)
    doubled = NaiveBayesLogistic(C=1.0).fit(sparse.vstack([X, X[:1]]), np.r_[y, 1])
    assert np.allclose(NaiveBayesLogistic(C=1.0).fit(X, y, sample_weight=[2, 1, 1, 1]).coef_, doubled.coef_, atol=1e-4)
    with pytest.raises(ValueError, match="alpha"):
        NaiveBayesLogistic(alpha=0.0).fit(X, y)


def test_a_regression_fitted_on_the_columns_its_rows_use_is_the_regression_on_all_of_them():
    rng = np.random.default_rng(3)
    X = sparse.random(60, 5000, density=0.002, format="lil", random_state=4)  # hashed features: most columns empty
    X[np.arange(60), rng.integers(0, 40, 60)] = 1.0
    X = X.tocsr()
    y = (np.asarray(X[:, :20].sum(axis=1)).ravel() > 0).astype(int)
    plain = LogisticRegression(C=10.0, max_iter=5000).fit(X, y)
    compact = CompactLogistic(C=10.0, max_iter=5000).fit(X, y)
    unused = np.asarray(X.getnnz(axis=0) == 0)
    assert compact.coef_.shape == plain.coef_.shape and compact.n_features_in_ == 5000
    assert np.all(compact.coef_[0, unused] == 0.0) and np.all(plain.coef_[0, unused] == 0.0)
    assert np.allclose(compact.coef_, plain.coef_, atol=1e-10) and np.allclose(compact.intercept_, plain.intercept_)
    assert np.allclose(compact.predict_proba(X), plain.predict_proba(X), atol=1e-12)
    # The naive Bayes regression is fitted so too: its ratios over every column, its regression on the used ones.
    ratios = NaiveBayesLogistic(alpha=1.0)
    counts = [1.0 + np.asarray((X > 0).astype(float).T @ (y == label)).ravel() for label in (1, 0)]
    log_ratios = np.log((counts[0] / counts[0].sum()) / (counts[1] / counts[1].sum()))
    full = LogisticRegression(C=10.0, max_iter=5000).fit(X.multiply(log_ratios).tocsr(), y)
    assert np.allclose(ratios.fit(X, y).coef_[0], full.coef_[0] * log_ratios, atol=1e-6)
    assert ratios.coef_.shape == (1, 5000) and not ratios.coef_[0, unused].any()
    with pytest.raises(ValueError, match="expecting 5000"):
        compact.predict(X[:, :100])
    # Refitted warm, it starts from its last weights as scikit-learn's does; a list of rows is taken too.
    warm = CompactLogistic(C=10.0, max_iter=5000, warm_start=True).fit(X, y).fit(X[::-1], y[::-1])
    assert np.allclose(warm.coef_, plain.coef_, atol=1e-4)
    rows = X[:, :50].toarray().tolist()
    assert np.allclose(CompactLogistic().fit(rows, y).coef_, LogisticRegression().fit(rows, y).coef_, atol=1e-10)


def test_the_topic_stage_fits_with_one_native_thread(monkeypatch):
    entered = []

    @contextlib.contextmanager
    def recording(count=None):
        entered.append(count)
        yield

    monkeypatch.setattr("classifier.model.topics.native_threads", recording)
    texts, tags = small_items()
    TopicClassifier(features=TopicFeatures(n_features=2**10, char_features=2**8), cv=2).fit(texts, tags)
    assert entered == [None]  # the default: one thread, or $STORYFILTER_THREADS


def test_with_naive_bayes_a_tag_is_the_mean_of_its_two_calibrated_regressions():
    texts, tags = small_items()
    model = TopicClassifier(features=TopicFeatures(n_features=2**12, char_features=2**10), cv=2, naive_bayes=True)
    model.fit(texts, tags)
    assert all(len(members) == 2 for members in model.estimators_)
    matrix = model.features_.transform(texts)
    own = np.column_stack(
        [np.mean([member.predict_proba(matrix)[:, 1] for member in members], axis=0) for members in model.estimators_]
    )
    assert np.allclose(model.predict_proba(texts), own, rtol=0, atol=1e-12)
    assert (
        model.predict_proba(["Troops raided a rebel camp."])[0, list(model.classes_).index("security_operation")] > 0.5
    )


def test_a_topic_model_fitted_before_naive_bayes_predicts_as_it_did():
    texts, tags = small_items()
    model = TopicClassifier(features=TopicFeatures(n_features=2**12, char_features=2**10), cv=2).fit(texts, tags)
    before = model.predict_proba(texts)
    state = model.__getstate__()
    state.pop("naive_bayes")
    state["estimators_"] = [members[0] for members in state["estimators_"]]  # one calibrated regression a tag
    old = TopicClassifier.__new__(TopicClassifier)
    old.__setstate__(state)
    assert old.get_params()["naive_bayes"] is False
    assert np.array_equal(old.predict_proba(texts), before)
    refitted = old.set_params(naive_bayes=True).fit(texts, tags)  # a refit is applied as fitted, not as before
    assert not np.array_equal(refitted.predict_proba(texts), before)


def test_topic_text_is_the_headline_and_story_only():
    lines = ["Menu", "Troops storm rebel camp in northern hills", "First paragraph.", "Second paragraph.", "Share this"]
    labels = [Label.CHROME, Label.CHROME, Label.STORY, Label.STORY, Label.CHROME]
    assert headline_of(lines, labels) == "Troops storm rebel camp in northern hills"
    assert (
        topic_text(lines, labels)
        == "Troops storm rebel camp in northern hills\n\nFirst paragraph.\n\nSecond paragraph."
    )
    assert topic_text(lines, [Label.CHROME] * 5) == ""


def test_probabilities_are_in_unit_interval_and_tags_follow_thresholds(tiny_model):
    docs = [tiny_model.label(text, id=str(i)) for i, text in enumerate([RAID, MATCH, MENU_ONLY, "", "x"])]
    for doc in docs:
        assert set(doc.topics) == set(tiny_model.tag_names)
        assert all(0.0 <= p <= 1.0 for p in doc.topics.values())
        assert set(doc.tags) == {t for t, p in doc.topics.items() if p >= tiny_model.topic_thresholds[t] and doc.story}


def test_reliability_table_is_a_calibration_check(tiny_model):
    card = tiny_model.card["topics"]
    assert set(card["thresholds"]) == set(tiny_model.tag_names) == set(card["reliability"])
    for rows in card["reliability"].values():
        assert sum(row["count"] for row in rows) == card["examples"]
        for row in rows:
            low, high = row["bin"]
            assert low <= row["predicted"] <= high and 0.0 <= row["observed"] <= 1.0


def test_page_with_no_story_gets_no_tags_and_no_error(tiny_model):
    doc = tiny_model.label(MENU_ONLY, id="menu")
    if not doc.story:  # the segment model kept nothing: nothing to be about
        assert doc.tags == () and set(doc.topics.values()) == {0.0}
    empty = tiny_model.label("", id="empty")
    assert empty.story == "" and empty.tags == () and set(empty.topics.values()) == {0.0}


def test_a_fourth_tag_in_the_data_becomes_a_tag_of_the_model(tmp_path):
    # Our politics items about votes also get an "elections" tag; the code knows nothing of it.
    items = []
    for document in read_training_jsonl(CORPUS_ITEMS):
        record = {"id": document.id, "text": document.text, "topics": list(document.topics)}
        if "politics" in record["topics"] and any(w in document.text.lower() for w in ("election", "ballot", "vote")):
            record["topics"].append("elections")
        items.append(record)
    assert sum("elections" in r["topics"] for r in items) >= 20
    pages = tmp_path / "pages.jsonl"
    pages.write_text(
        "\n".join(CORPUS_PAGES.read_text(encoding="utf-8").splitlines()[::8][:40]) + "\n", encoding="utf-8"
    )
    data = write_jsonl(tmp_path / "items.jsonl", items)
    out = tmp_path / "elections.model"
    result = runner.invoke(
        app, ["train", str(pages), str(data), "--out", str(out), "--no-validate", "--cache", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    model = load_model(out)
    assert set(model.tag_names) == {"elections", "militia", "politics", "security_operation"}
    assert "elections" in json.loads(out.with_suffix(".json").read_text())["topics"]["thresholds"]
    vote = model.label(
        "Opposition wins parliamentary election\n\nVoters gave the opposition a clear majority in Sunday's "
        "parliamentary election, the electoral commission said, after a campaign dominated by prices. "
        "Turnout was the highest in twenty years and the governing party conceded before midnight.",
        id="vote",
    )
    assert vote.topics["elections"] > model.label(MATCH, id="m").topics["elections"]
    assert list(model.filter([vote], topics={"elections"}, min_score=0.0)) == [vote]


def test_filter_is_lazy_and_works_on_an_endless_stream(tiny_model):
    pulled = []

    def endless():
        for n in itertools.count():
            pulled.append(n)
            yield {"id": f"p{n}", "text": RAID if n % 2 == 0 else MATCH}

    kept = list(
        itertools.islice(
            tiny_model.filter(endless(), topics={"militia", "security_operation"}, min_score=0.0, chunk_size=8), 3
        )
    )
    assert [doc.id for doc in kept] == ["p0", "p1", "p2"]
    assert len(pulled) <= 8 + 1  # one chunk (and the look-ahead that ends it), not the whole stream


def test_filter_keeps_by_score_or_by_tag_and_refuses_unknown_topics(tiny_model):
    docs = list(tiny_model.label_many([tiny_model.label(RAID, id="r"), tiny_model.label(MATCH, id="m")]))
    everything = list(tiny_model.filter(docs, topics={"militia"}, min_score=0.0))
    assert [d.id for d in everything] == ["r", "m"]
    assert list(tiny_model.filter(docs, topics={"militia"}, min_score=1.0)) == []
    by_tags = [d.id for d in tiny_model.filter(docs, topics={"militia"})]
    assert by_tags == [d.id for d in docs if "militia" in d.tags]
    with pytest.raises(InputError, match="unknown topic"):
        next(tiny_model.filter(docs, topics={"weather"}))


def test_filter_yields_a_failed_document_in_its_place_unless_told_to_skip(tiny_model):
    """SPEC: no document is silently dropped; the stage gives its failures as ``storyfilter filter`` writes them."""
    stream = [{"id": "r", "text": RAID}, {"id": "bad", "html": 42}, 7, {"id": "m", "text": MATCH}]
    results = list(tiny_model.filter(stream, topics={"militia"}, min_score=0.0))
    assert [type(r).__name__ for r in results] == [
        "LabeledDocument",
        "FailedDocument",
        "FailedDocument",
        "LabeledDocument",
    ]
    assert results[1].id == "bad" and results[1].error_type == "InputError"
    kept = list(tiny_model.filter(stream, topics={"militia"}, min_score=0.0, skip_failures=True))
    assert [r.id for r in kept] == ["r", "m"]
    assert list(tiny_model.filter(stream, topics={"militia"}, min_score=1.0)) == results[1:3]


def test_filter_cli_on_raw_pages_and_on_label_records(tiny_model_path, tmp_path):
    pages = write_jsonl(
        tmp_path / "pages.jsonl", [{"id": "raid", "text": RAID}, {"id": "match", "text": MATCH}, {"id": "bad"}]
    )
    model = ["--model", str(tiny_model_path)]
    raw = runner.invoke(
        app, ["filter", str(pages), "--topic", "militia", "--topic", "security_operation", "--min-score", "0", *model]
    )
    assert raw.exit_code == 1  # as label: a document failed
    assert [r["id"] for r in records(raw.stdout)] == ["raid", "match", "bad"] and "error" in records(raw.stdout)[2]

    labelled = tmp_path / "labelled.jsonl"
    assert runner.invoke(app, ["label", str(pages), "-o", str(labelled), *model]).exit_code == 1
    rows = records(labelled.read_text())
    # Records from `label` are read back as they are, not labelled again: a changed score is obeyed.
    rows[1]["topics"]["militia"], rows[1]["tags"] = 1.0, ["militia"]
    rows[0]["topics"]["militia"], rows[0]["tags"] = 0.0, []
    edited = write_jsonl(tmp_path / "edited.jsonl", rows[:2])
    out = tmp_path / "kept.jsonl"
    result = runner.invoke(app, ["filter", str(edited), "--topic", "militia", "-o", str(out), *model])
    assert result.exit_code == 0, result.output
    [kept] = records(out.read_text())
    assert kept["id"] == "match" and kept["segments"] == rows[1]["segments"] and kept["story"] == rows[1]["story"]

    unknown = runner.invoke(app, ["filter", str(pages), "--topic", "weather", *model])
    assert unknown.exit_code == 2 and "unknown topic" in unknown.stderr


def test_records_of_a_model_that_did_not_score_a_wanted_topic_are_error_records_not_dropped(
    tiny_model, tiny_model_path, tmp_path
):
    """A user who retrained a model without a tag, and filters its records on that tag without --model, was
    told that nothing passed (exit 0): every record is an error record in its place instead."""
    tag = tiny_model.tag_names[0]
    record = tiny_model.label(RAID, id="raid").to_record()
    other = next(t for t in tiny_model.tag_names if t != tag)
    record.update(model="mine@1", topics={other: 0.9}, tags=[other], source="crawl-7")
    path = write_jsonl(tmp_path / "mine.jsonl", [record])
    result = runner.invoke(app, ["filter", str(path), "--topic", tag, "--model", str(tiny_model_path)])
    assert result.exit_code == 1, result.output
    [written] = records(result.stdout)
    assert written["id"] == "raid" and written["source"] == "crawl-7"
    assert f"labelled by mine@1, which did not score {tag}" in written["error"]["message"]
    [failed] = tiny_model.filter([record], topics=tag)
    assert failed.error_type == "InputError" and failed.extra["source"] == "crawl-7"
    assert list(tiny_model.filter([record], topics=tag, skip_failures=True)) == []
    # Scored on the topic, by whichever model: judged by its score as before.
    assert [d.id for d in tiny_model.filter([record], topics=other)] == ["raid"]
    # Carrying one wanted topic it was scored on, it passes whatever the other; carrying none, it cannot be judged.
    assert [d.id for d in tiny_model.filter([record], topics={tag, other})] == ["raid"]
    record.update(topics={other: 0.1}, tags=[])
    [failed] = tiny_model.filter([record], topics={tag, other})
    assert f"did not score {tag} (it scored {other})" in failed.message
    assert list(tiny_model.filter([record], topics=other)) == []  # scored on it, and not carried: left out
    assert failed.message.endswith(f"(--model), or without --topic {tag}")  # (the other one can still judge it)
    [alone] = tiny_model.filter([record], topics=tag)
    assert alone.message.endswith("(--model)")  # (leaving the one topic out would leave nothing to filter by)
    # A record without topics (no topic stage, or only its tags given) is judged by what it shows.
    record.update(topics={}, tags=[other])
    assert [d.id for d in tiny_model.filter([record], topics={tag, other})] == ["raid"]
    assert list(tiny_model.filter([record], topics=tag)) == []


def test_one_topic_may_be_named_by_a_string(tiny_model):
    doc = tiny_model.label(RAID, id="raid")
    tag = doc.tags[0] if doc.tags else tiny_model.tag_names[0]
    assert doc.carries(tag) == doc.carries([tag]) == (tag in doc.tags)
    assert doc.carries(tag, min_score=0.0) and tiny_model.check_topics(tag) == {tag}
    assert [d.id for d in tiny_model.filter([RAID], topics=tag, min_score=0.0)] == ["0"]


def test_carries_refuses_what_filter_refuses(tiny_model):
    from classifier.errors import InputError

    doc = tiny_model.label(RAID, id="raid")
    tag = tiny_model.tag_names[0]
    for wrong in (tag.capitalize(), {"sports"}):  # a typo gave False for every story
        with pytest.raises(InputError, match="unknown topic"):
            doc.carries(wrong)
    # As filter: carrying a wanted topic it was scored on, it carries; carrying none, an unknown one is a mistake.
    if tag in doc.tags:
        assert doc.carries([tag, "sports"])
    else:
        with pytest.raises(InputError, match="unknown topic"):
            doc.carries([tag, "sports"])
    for wrong in (None, [], [tag, 3]):
        with pytest.raises(InputError, match="topics is a topic's name"):
            doc.carries(wrong)
    for score in (2, "0.5", True, float("nan")):
        with pytest.raises(InputError, match="min_score is a probability"):
            doc.carries(tag, score)
    # A record with no topics (no topic stage, no story) carries none: nothing to check the name against.
    assert not LabeledDocument(id="x", model="m", segments=()).carries("anything")


def test_label_records_read_back_as_labelled_documents(tiny_model):
    doc = tiny_model.label(RAID, id="raid")
    again = LabeledDocument.from_record(json.loads(json.dumps(doc.to_record())))
    assert again.story == doc.story and again.topics == pytest.approx(doc.topics, abs=1e-4) and again.tags == doc.tags
    short = LabeledDocument.from_record(doc.to_record(segments=False))
    assert short.story == doc.story and short.segments == ()
    # Written again (by filter, by label passing it through) without segments, as it came.
    assert short.to_record() == doc.to_record(segments=False)
    assert json.loads(short.json_line()) == doc.to_record(segments=False)


def test_evaluate_reports_per_tag_scores_on_news_items(tiny_model_path, tmp_path):
    items = list(itertools.islice(read_training_jsonl(CORPUS_ITEMS), 1, None, 7))
    data = write_jsonl(
        tmp_path / "items.jsonl", [{"id": d.id, "text": d.text, "topics": list(d.topics)} for d in items]
    )
    result = runner.invoke(
        app, ["evaluate", str(data), "--model", str(tiny_model_path), "--report", str(tmp_path / "r")]
    )
    assert result.exit_code == 0, result.output
    assert "micro-F1" in result.stdout
    report = json.loads((tmp_path / "r" / "report.json").read_text())["topics"]
    assert report["documents"] == len(items)
    for row in report["per_tag"].values():
        assert {"precision", "recall", "f1", "average_precision"} <= set(row)
    assert 0.0 <= report["micro_f1"] <= 1.0
    assert np.isfinite(report["micro_f1"])


GERMAN = (
    "Soldaten der Armee haben am Dienstag ein Lager der Rebellen im Norden des Landes gestürmt.\n"
    "Nach Angaben des Verteidigungsministeriums wurden dabei zwölf Kämpfer getötet und zahlreiche Waffen "
    "sichergestellt. Die Regierung kündigte weitere Einsätze gegen die bewaffneten Gruppen in der Region an."
)
ENGLISH = (
    "Army troops stormed a rebel camp in the north of the country on Tuesday.\n"
    "The defence ministry said twelve fighters were killed and many weapons were seized in the raid. "
    "The government announced further operations against the armed groups in the region."
)


def test_a_story_in_a_language_the_topic_stage_did_not_learn_gets_probabilities_but_no_tags(tiny_model):
    import dataclasses

    from classifier.model.labelling import tag_stories

    eager = {tag: 0.0 for tag in tiny_model.topic_classifier.classes_}  # every story would get every tag
    english_only = dataclasses.replace(tiny_model, topic_thresholds=eager, topic_languages=("en",))
    pages = [GERMAN.split("\n"), ENGLISH.split("\n"), GERMAN.split("\n")]
    labels = [[Label.STORY] * len(page) for page in pages]
    (german, english, unknown) = tag_stories(english_only, pages, labels, ["de", "en", None])
    assert german[1] == () and set(german[0]) == set(eager) and any(german[0].values())
    assert set(english[1]) == set(eager) and set(unknown[1]) == set(eager)  # unknown language: tagged
    any_language = dataclasses.replace(english_only, topic_languages=None)
    assert set(tag_stories(any_language, pages[:1], labels[:1], ["de"])[0][1]) == set(eager)


def test_a_page_labelled_all_chrome_gives_no_topic_example(tmp_path):
    from classifier.training.topics import topic_examples

    text = "Home | World | Sport\nMost read: Rebels seize the port\nSubscribe to our newsletter\n"
    chrome = {"id": "front", "site": "s", "text": text, "topics": ["militia"]}
    chrome["segments"] = [{"start": 0, "end": len(text), "label": "chrome"}]
    item = {"id": "item", "text": "Rebels seized the port on Monday, officials said.", "topics": ["militia"]}
    path = write_jsonl(tmp_path / "t.jsonl", [chrome, item])
    texts, tags = topic_examples(list(read_training_jsonl(path)))
    assert texts == ["Rebels seized the port on Monday, officials said."] and tags == [["militia"]]
