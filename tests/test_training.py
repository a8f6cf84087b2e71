"""Safe, explained retraining: where a model goes, what it is called, what is checked first, what is said."""

import contextlib
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.cli.app import app
from classifier.corpus.documents import _document_from_record
from classifier.records import Label
from classifier.training import discussions, fit
from classifier.training.checks import MIN_TAG_EXAMPLES
from classifier.training.progress import TrainingProgress

from .conftest import CORPUS_PAGES, EXAMPLES, write_jsonl

runner = CliRunner()


@pytest.fixture(scope="module")
def tagged_rows():
    """Some of our corpus pages, with their topics."""
    return [json.loads(line) for line in CORPUS_PAGES.read_text(encoding="utf-8").splitlines()[::6][:60]]


@pytest.fixture(scope="module")
def pages(tmp_path_factory, tagged_rows):
    """A few of our corpus pages to train on, without topics: a segment model only, quick to fit."""
    rows = [{k: v for k, v in row.items() if k != "topics"} for row in tagged_rows[:24]]
    return write_jsonl(tmp_path_factory.mktemp("train") / "pages.jsonl", rows)


def train(*arguments, cache):
    return runner.invoke(app, ["train", *map(str, arguments), "--no-validate", "--cache", str(cache)])


def test_a_page_an_empty_file_or_a_folder_of_jsonl_given_to_train_are_told_apart(pages, tmp_path):
    page = tmp_path / "page.txt"
    page.write_text("Menu\nA story line.\n")
    result = train(page, "--out", tmp_path / "m.model", cache=tmp_path / "c")
    assert result.exit_code == 2 and "page.txt: a page, not training data" in result.stderr
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "pages.jsonl").write_text("")
    result = train(tmp_path / "folder", "--out", tmp_path / "m.model", cache=tmp_path / "c")
    assert result.exit_code == 2 and "give the JSONL files in it" in result.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    result = train(pages, empty, "--out", tmp_path / "m.model", cache=tmp_path / "c")
    assert result.exit_code == 0 and f"note: {empty} holds no training data" in result.stderr
    assert "note: no HTML page trained this model: it labels plain text" in result.stderr


def test_train_needs_out_and_never_replaces_a_model_unless_forced(pages, tmp_path):
    result = train(pages, cache=tmp_path / "c")
    assert result.exit_code == 2 and "--out" in result.output

    out = tmp_path / "mine.model"
    out.write_bytes(b"somebody's model")
    result = train(pages, "--out", out, cache=tmp_path / "c")
    assert result.exit_code == 2
    assert "exists: pass --force" in result.stderr
    assert out.read_bytes() == b"somebody's model"


def test_an_out_that_cannot_be_written_or_a_seed_out_of_range_stops_train_before_any_fitting(pages, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        for out in (a_file / "m.model", locked / "m.model"):
            if out.parent == locked and os.access(locked, os.W_OK):
                continue  # (run as root: every folder is writable)
            result = train(pages, "--out", out, cache=tmp_path / "c")
            assert result.exit_code == 2, result.output
            assert f"--out {out}: cannot write a model there" in result.stderr
            assert "fitting" not in result.stderr and "Traceback" not in result.output
    finally:
        locked.chmod(0o700)
    for seed in ("-1", str(2**32)):
        result = train(pages, "--out", tmp_path / "m.model", "--seed", seed, cache=tmp_path / "c")
        assert result.exit_code == 2 and "--seed" in result.stderr and "fitting" not in result.stderr
    assert not (tmp_path / "m.model").exists()


def test_html_pages_alone_are_refused_with_what_to_add(tmp_path):
    html = "<html><body><nav>Home News</nav><p>A story paragraph of a page, long enough to read.</p></body></html>"
    rows = [
        {"id": f"p{i}", "site": f"s{i}", "html": html, "story": "A story paragraph of a page, long enough to read."}
        for i in range(6)
    ]
    result = train(write_jsonl(tmp_path / "html.jsonl", rows), "--out", tmp_path / "m.model", cache=tmp_path / "c")
    assert result.exit_code == 2 and "every model needs them" in result.stderr
    assert "label --with-text" in result.stderr and not (tmp_path / "m.model").exists()


def test_versions_count_up_per_name_and_name_sets_the_id(pages, tmp_path):
    first = tmp_path / "mine.model"
    assert train(pages, "--out", first, cache=tmp_path / "c").exit_code == 0
    assert json.loads(first.with_suffix(".json").read_text())["name"] == "mine"
    assert json.loads(first.with_suffix(".json").read_text())["version"] == 1

    result = train(pages, "--out", first, "--force", cache=tmp_path / "c")
    assert result.exit_code == 0, result.output
    assert json.loads(first.with_suffix(".json").read_text())["version"] == 2
    assert "mine@2" in result.stderr

    # Another file, the same model name: the next version of that name, not @1 again.
    other = tmp_path / "mine-next.model"
    assert train(pages, "--out", other, "--name", "mine", cache=tmp_path / "c").exit_code == 0
    card = json.loads(other.with_suffix(".json").read_text())
    assert (card["name"], card["version"]) == ("mine", 3)

    result = train(pages, "--out", tmp_path / "x.model", "--name", "no spaces please", cache=tmp_path / "c")
    assert result.exit_code == 2 and "--name" in result.stderr


def test_stages_are_numbered_and_validation_says_why_it_is_missing(pages, tmp_path):
    result = train(pages, "--out", tmp_path / "m.model", cache=tmp_path / "c")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    stages = [line for line in lines if line.startswith("[")]
    assert stages == ["[1/1] text: fitting: 24 documents, " + stages[0].rsplit(", ", 1)[1]]
    assert stages[0].endswith(" segments")
    assert "text: no validation figures: validation was turned off (--no-validate)" in lines


def test_validation_on_data_without_validation_sites_says_so(pages, tmp_path):
    result = runner.invoke(
        app, ["train", str(pages), "--out", str(tmp_path / "m.model"), "--cache", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    assert "text: no validation figures: no validation sites: only the pages of web-page corpora validate" in (
        result.stderr
    )


def test_a_rare_tag_is_refused_before_any_fitting(tagged_rows, tmp_path, monkeypatch):
    rows = tagged_rows
    tagged = [row for row in rows if row.get("topics")]
    rare = [dict(row, topics=[*row["topics"], "rare_tag"]) for row in tagged[: MIN_TAG_EXAMPLES - 1]]
    data = write_jsonl(
        tmp_path / "rare.jsonl", rare + tagged[MIN_TAG_EXAMPLES:] + [r for r in rows if not r.get("topics")]
    )

    def no_fitting(*_):
        raise AssertionError("fitted before the data was checked")

    monkeypatch.setattr(fit, "_fit", no_fitting)
    result = train(data, "--out", tmp_path / "m.model", cache=tmp_path / "c")
    assert result.exit_code == 2
    assert f"carry this tag: 'rare_tag' on {MIN_TAG_EXAMPLES - 1};" in result.stderr
    assert f"at least {MIN_TAG_EXAMPLES} stories with each tag" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("sites", [3, 6])
def test_pages_whose_sites_cannot_be_split_in_folds_are_refused_before_any_fitting(sites, tmp_path, monkeypatch):
    rows = []
    for n in range(24):
        site = n % sites
        # With 6 sites, two of them label only story and the rest only chrome: a fold is left without story.
        label = "story" if (sites == 6 and site < 1) else ("chrome" if sites == 6 else ["story", "chrome"][n % 2])
        rows.append(
            {
                "id": f"p{n}",
                "site": f"s{site}",
                "text": f"A line {n} of the page.\n",
                "segments": [{"start": 0, "end": 21 + len(str(n)), "label": label}],
            }
        )
    rows += [dict(row, id=f"{row['id']}{copy}") for copy in "bc" for row in rows]  # enough of each label in all
    data = write_jsonl(tmp_path / "few-sites.jsonl", rows)

    def no_fitting(*_):
        raise AssertionError("fitted before the data was checked")

    monkeypatch.setattr(fit, "_fit", no_fitting)
    result = train(data, "--out", tmp_path / "m.model", cache=tmp_path / "c")
    assert result.exit_code == 2 and "Traceback" not in result.output
    if sites == 3:
        assert "come from 3 site(s)" in result.stderr and "at least 5 sites" in result.stderr
    else:
        assert "leave a fold of their 5 (split by site) without story segments" in result.stderr


def test_every_tag_too_rare_is_named_at_once_with_a_likely_typo():
    from classifier.errors import TrainingDataError
    from classifier.training.checks import check_tags

    tags = [["militia"]] * 12 + [["politics"]] * 12 + [[]] * 20 + [["milita"], ["Politics"], ["sport"]]
    with pytest.raises(TrainingDataError) as refused:
        check_tags(tags)
    message = str(refused.value)
    assert "of the 47 topic-labelled stories (each story once" in message
    assert "'Politics' on 1 (a typo of 'politics'?); 'milita' on 1 (a typo of 'militia'?); 'sport' on 1;" in message


def test_a_tag_a_fold_of_the_threshold_split_leaves_too_rare_is_refused():
    from classifier.errors import TrainingDataError
    from classifier.training.checks import check_topic_folds

    tags = [["militia"] if n < MIN_TAG_EXAMPLES else [] for n in range(200)]  # as many as check_tags asks
    texts = [f"story {n}" for n in range(200)]
    for seed in (0, 1, 27, 29):
        check_topic_folds(texts, tags, seed)
    with pytest.raises(TrainingDataError) as refused:  # this seed's folds put 6 of the 10 in one fold
        check_topic_folds(texts, tags, 28)
    assert "tag 'militia': a fold of the topic stage's threshold split (seed 28) leaves 4" in str(refused.value)
    assert "try another --seed" in str(refused.value)


def test_a_storys_near_duplicates_share_its_threshold_fold():
    from classifier.training.topics import story_groups, threshold_splits

    story = (
        "Police in the northern province arrested eleven men on Wednesday suspected of running a ring that "
        "smuggled weapons across the border, officials said after a raid on a warehouse near the river port."
    )
    other = "Lagos fashion week closed on Sunday with a show of woven cloth by young designers from the city."
    texts = [f"distinct story number {n} about something else entirely" for n in range(40)]
    texts[3] = "Eleven held in weapons raid\n\n" + story  # the same story on three pages: headlines and bylines differ
    texts[17] = "By a staff reporter\n\n" + story + " The men will appear in court on Friday."
    texts[31] = story
    texts[8], texts[25] = other, "Fashion week ends\n\n" + other
    groups = story_groups(texts)
    assert groups[3] == groups[17] == groups[31] == 3 and groups[8] == groups[25] == 8
    assert len(set(groups.tolist())) == 40 - 3
    for seed in range(6):
        for _, test in threshold_splits(groups, seed):
            held = set(test.tolist())
            assert len(held & {3, 17, 31}) in (0, 3) and len(held & {8, 25}) in (0, 2)


def test_topic_stories_too_few_once_near_duplicates_are_joined_are_refused():
    from classifier.errors import TrainingDataError
    from classifier.training.checks import check_topic_folds

    texts = ["Troops stormed the rebel-held town at dawn after a week of shelling, the army said."] * 3 + [
        "Parliament passed the budget on its third reading late on Thursday evening.",
    ] * 7
    with pytest.raises(TrainingDataError, match="are 2 distinct ones"):
        check_topic_folds(texts, [["militia"]] * 3 + [[]] * 7, 0)


def test_data_whose_stories_carry_no_tag_trains_no_topic_stage(tagged_rows, tmp_path):
    from classifier import load_model

    rows = [dict(row, topics=[]) for row in tagged_rows[:24]]
    out = tmp_path / "m.model"
    result = train(write_jsonl(tmp_path / "untagged.jsonl", rows), "--out", out, cache=tmp_path / "c")
    assert result.exit_code == 0, result.output
    assert "no story of the data carries a topic tag: the model gets no topic stage" in result.stderr
    assert load_model(out).topic_classifier is None
    rows = [{key: value for key, value in row.items() if key != "topics"} for row in tagged_rows[:24]]
    result = train(write_jsonl(tmp_path / "bare.jsonl", rows), "--out", tmp_path / "b.model", cache=tmp_path / "c")
    assert result.exit_code == 0 and "no document of the data has topics (in English)" in result.stderr, result.output


def test_pages_with_too_few_chrome_lines_are_refused(tmp_path):
    data = write_jsonl(
        tmp_path / "story-only.jsonl",
        [
            {
                "id": f"p{n}",
                "text": f"Story line {n} of the page.",
                "segments": [{"start": 0, "end": 26, "label": "story"}],
            }
            for n in range(20)
        ],
    )
    result = train(data, "--out", tmp_path / "m.model", cache=tmp_path / "c")
    assert result.exit_code == 2
    assert "have 0 segments labelled chrome; at least 10 of each label are needed" in result.stderr
    assert "lines no span lists are unknown, not chrome" in result.stderr


def test_time_left_is_the_rate_of_the_stages_done_times_the_weight_to_come():
    said, now = [], [0.0]
    progress = TrainingProgress(said.append, clock=lambda: now[0])
    for name, weight in (("a", 100), ("b", 200), ("c", 400)):
        progress.plan(name, weight)
    progress.start()
    now[0] = 30.0  # 100 units in 30 s
    progress.start("more")
    now[0] = 120.0  # 300 units in 120 s
    progress.start()
    progress.finish()
    assert said == ["[1/3] a", "[2/3] b: more (about 3 min left)", "[3/3] c (about 3 min left)"]
    assert progress.seconds_left() == 0


def test_no_time_left_is_said_until_the_stages_done_took_long_enough_to_tell():
    said, now = [], [0.0]
    progress = TrainingProgress(said.append, clock=lambda: now[0])
    for name, weight in (("a", 100), ("b", 6000)):
        progress.plan(name, weight)
    progress.start()
    now[0] = 5.0  # a small run's first stage: fixed costs, not pace
    progress.start()
    assert said == ["[1/2] a", "[2/2] b"] and progress.seconds_left() is None


def test_the_retraining_script_replaces_the_shipped_model_only_by_default(monkeypatch, tmp_path):
    import training.train as script

    calls = []
    monkeypatch.setattr(script, "app", lambda argv, prog_name: calls.append(argv))
    monkeypatch.setenv("STORYFILTER_CACHE", str(tmp_path / "cache"))
    reports = tmp_path / "satp.jsonl"
    reports.write_text('{"id": "satp-train-0", "text": "a"}\n{"id": "satp-dev-0", "text": "b"}\n')
    monkeypatch.setattr(script, "SATP", reports)
    script.main([])
    script.main(["mine.jsonl", "--out", "models/mine.model"])
    assert calls[0][-3:] == ["--out", str(script.SHIPPED), "--force"]
    assert calls[0][1 : 1 + len(script.DEFAULT_SOURCES)] == [str(p) for p in script.DEFAULT_SOURCES]
    part = Path(calls[0][1 + len(script.DEFAULT_SOURCES)])
    assert part.read_text() == '{"id": "satp-train-0", "text": "a"}\n'  # the reports that measure are left out
    assert calls[1] == ["train", "mine.jsonl", "--out", "models/mine.model"]
    # --plus: the default sources (the reports' training part among them) and the user's own.
    script.main(["--plus", "site.jsonl", "--plus=more.jsonl", "--out", "models/mine.model"])
    assert calls[2][: len(calls[0]) - 3] == calls[0][:-3]
    assert calls[2][len(calls[0]) - 3 :] == ["site.jsonl", "more.jsonl", "--out", "models/mine.model"]
    with pytest.raises(SystemExit, match="default sources"):
        script.main(["mine.jsonl", "--plus", "site.jsonl"])
    with pytest.raises(SystemExit, match="needs a path"):
        script.main(["--plus"])


def test_an_html_page_whose_gold_keeps_its_comments_is_a_discussion_left_out_of_html_training():
    from classifier.corpus.documents import TrainingDocument
    from classifier.segment.html import split_html

    comment = "<li class='comment'><p>" + "I think this is a very fine point indeed. " * 3 + "</p></li>"
    html = (
        "<html><body><article><p>" + "Police said the road was closed for the day. " * 5 + "</p></article>"
        f"<ol id='responses'>{comment * 6}</ol></body></html>"
    )
    page = split_html(html)

    def document(labels: list[int], page_type: str = "article") -> TrainingDocument:
        return TrainingDocument(
            "p:markup", "s", page.text, tuple(page.segments), tuple(labels), page_type=page_type, html=html
        )

    everything, article_only = [1] * len(page.segments), [1] + [0] * (len(page.segments) - 1)
    assert len(page.segments) == 7
    assert discussions.teaches_comments(document(everything))
    assert not discussions.teaches_comments(document(article_only))
    assert discussions.teaches_comments(document(article_only, page_type="forum"))
    assert not discussions.teaches_comments(document(everything[:1] + article_only[1:3] + everything[3:]))  # 108 words


def test_the_html_stage_weighs_a_small_corpus_s_pages_up_to_the_largest_s():
    from classifier.corpus.documents import TrainingDocument
    from classifier.segment.text import split_text

    text = "Police said the road was closed.\nHome | World | Sport"
    segments = tuple(split_text(text))

    def page(corpus: str, number: int) -> TrainingDocument:
        return TrainingDocument(f"{corpus}{number}", f"{corpus}{number}.org", text, segments, (1, 0), corpus=corpus)

    documents = [page("big", n) for n in range(16)] + [page("small", n) for n in range(4)]
    assert fit.corpus_weights(documents) == {"big": 1.0, "small": 2.0}  # (16 / 4) ** 0.5
    plain, balanced = fit.assemble(documents), fit.assemble(documents, balance=True)
    assert plain.weights[:32].tolist() == balanced.weights[:32].tolist()
    assert balanced.weights[32:].tolist() == [2 * w for w in plain.weights[32:]]
    assert fit.corpus_weights(documents[:16]) == {"big": 1.0}  # one source: the weights as they were


def test_html_pages_validate_as_they_are_labelled_with_the_text_stage_s_share(tmp_path, tiny_classifier):
    from classifier.corpus.documents import read_training_jsonl
    from classifier.model.segments import MeanOfStages

    from .conftest import tiny_html_records

    documents = list(read_training_jsonl(write_jsonl(tmp_path / "html.jsonl", tiny_html_records())))
    held = documents[::10]
    stages = TrainingProgress(lambda _: None)
    for name in ("to validate", "fitting"):
        stages.plan(name, 1)
    options = fit.TrainingOptions(sources=[], cache=None)
    split = (documents, held, None)
    final, metrics, checked = fit._fit_validated(
        documents, split, options, stages, "HTML", html=True, partner=tiny_classifier
    )
    assert metrics["text_share"] == fit.HTML_TEXT_SHARE > 0
    shared = fit.validation_metrics(MeanOfStages(checked, tiny_classifier, fit.HTML_TEXT_SHARE), held)
    assert metrics["story"] == shared["story"] and metrics["story_f1_by_threshold"] == shared["story_f1_by_threshold"]
    assert final is not checked and hasattr(final, "context_")


def test_training_runs_its_native_thread_pools_at_the_default_count(monkeypatch, tmp_path):
    from classifier.training import fit as training

    entered = []

    @contextlib.contextmanager
    def recording(count=None):
        entered.append(count)
        yield

    monkeypatch.setattr(training, "native_threads", recording)
    monkeypatch.setattr(training, "_train", lambda options, progress: "model")
    options = training.TrainingOptions(sources=[], out=tmp_path / "m.model", cache=tmp_path)
    assert training.train(options) == "model" and entered == [None]  # one thread, or $STORYFILTER_THREADS


def test_topic_labelled_documents_without_a_language_read_as_another_are_noted():
    from classifier.corpus.documents import TrainingDocument
    from classifier.training.checks import note_unmarked_languages

    def item(id_: str, text: str, language=None) -> TrainingDocument:
        return TrainingDocument(id=id_, site=id_, text=text, segments=(), labels=(), topics=(), language=language)

    french = "La police a arrêté trois hommes armés près du port lundi soir, selon les autorités de la ville."
    english = "Police arrested three armed men near the port on Monday night, the city's officials said."
    said: list[str] = []
    note_unmarked_languages([item("a", english), item("b", french), item("c", french, "fr")], ("en",), said.append)
    assert said == [
        "note: 1 story of topic-labelled documents without a 'language' read as another language than the topic "
        "stage's (1 fr): they train it as if in en; give those documents their 'language' to keep them out"
    ]
    said.clear()
    note_unmarked_languages([item("a", english)], ("en",), said.append)
    assert said == []


def test_a_label_record_with_its_html_put_back_trains_as_that_record(tiny_model):
    # The record of an HTML page, its labels corrected and its markup added back: the segments (offsets into the
    # rendering) label the blocks, its tags are the topics, and the model's story and probabilities are no gold.
    html = (EXAMPLES / "harbour.html").read_text(encoding="utf-8")
    record = json.loads(tiny_model.label(html=html, id="harbour").json_line())
    document = _document_from_record({**record, "html": html}, "mine.jsonl:1", "mine.jsonl")
    assert document.is_html and document.story is None
    assert document.topics == tuple(record["tags"])
    story = [segment.text for segment, label in zip(document.segments, document.labels) if label == Label.STORY]
    assert story == [segment["text"] for segment in record["segments"] if segment["label"] == "story"]


def test_an_html_page_with_model_and_story_fields_of_its_own_keeps_its_gold():
    # A CMS export: an HTML page, its gold story and topics, and a product's name in `model`: not a record of
    # label (no rendering, no probabilities, no tags), so its gold labels its blocks.
    html = "<html><body><nav>Home News</nav><p>The council voted on Tuesday to approve the budget.</p></body></html>"
    record = {
        "id": "p1",
        "html": html,
        "model": "Corolla",
        "story": "The council voted on Tuesday to approve the budget.",
        "topics": ["politics"],
    }
    document = _document_from_record(record, "cms.jsonl:1", "cms.jsonl")
    assert document.topics == ("politics",) and document.story == record["story"]
    assert list(document.labels) == [Label.CHROME, Label.STORY]
