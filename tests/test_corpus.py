import json
import re

import pytest

from classifier.corpus.alignment import align_gold
from classifier.corpus.documents import read_training_jsonl
from classifier.corpus.sites import is_held_out, site_of
from classifier.errors import InputError, TrainingDataError
from classifier.records import UNLABELLED, Label
from classifier.segment.text import split_text


def test_alignment_labels_covered_lines_story_and_leaves_doubt_out():
    gold = "Troops entered the town at dawn on Monday.\n\nResidents stayed indoors.\n\nAftermath"
    page = (
        "Home\nTroops entered the town at dawn on Monday.\nResidents stayed indoors.\n"
        "Aftermath\nTroops entered the town at dawn, a teaser says\n"
        "Troops entered the town at dawn on Monday."
    )
    labels = align_gold(split_text(page), gold)
    assert labels[:4] == [Label.CHROME, Label.STORY, Label.STORY, Label.STORY]
    assert labels[4] == UNLABELLED  # partly quoted: left out
    assert labels[5] == Label.CHROME  # a second copy of a story paragraph


def test_sites_group_subdomains_and_the_split_is_fixed():
    assert site_of("https://www.news.example.co.uk/a/b") == "example.co.uk"
    assert site_of("http://blog.example.com/x") == "example.com"
    assert is_held_out("example.com") == is_held_out("example.com")
    share = sum(is_held_out(f"site{i}.org") for i in range(2000)) / 2000
    assert 0.2 < share < 0.3


@pytest.mark.parametrize(
    "text, span, labels",
    [
        ("Menu\n\nA story line.\n", {"start": 6, "end": 20, "label": "story"}, (UNLABELLED, Label.STORY)),
        # A span may start before a byte order mark at its line's start (the line's text is after it).
        ("\ufeffA headline\nA story line.\n", {"start": 0, "end": 12, "label": "chrome"}, (Label.CHROME, UNLABELLED)),
    ],
)
def test_training_jsonl_maps_spans_to_segments(tmp_path, text, span, labels):
    record = {"id": "p", "site": "s", "text": text, "segments": [span]}
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(record) + "\n")
    [doc] = list(read_training_jsonl(path))
    assert doc.labels == labels and doc.segments[0].text == text[: text.index("\n")].strip("\ufeff")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
def test_training_jsonl_with_a_byte_order_mark_is_read_as_label_reads_it(tmp_path, encoding):
    text = "Menu\n\nUne ligne de l'histoire, \u00e9crite en fran\u00e7ais.\n"
    records = [
        {"id": f"p{n}", "site": "s", "text": text, "segments": [{"start": 6, "end": len(text) - 1, "label": "story"}]}
        for n in range(3)
    ]
    path = tmp_path / "t.jsonl"
    path.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode(encoding))
    documents = list(read_training_jsonl(path))
    assert [d.id for d in documents] == ["p0", "p1", "p2"] and documents[0].text == text


def test_a_span_over_several_lines_labels_each_of_them_and_one_of_white_space_is_refused(tmp_path):
    text = "Menu\n\nA story line.\nAnd its second line.\nShare\n"
    second_end = text.index("\nShare")
    record = {"id": "p", "site": "s", "text": text, "segments": [{"start": 6, "end": second_end, "label": "story"}]}
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(record) + "\n")
    [doc] = list(read_training_jsonl(path))
    assert doc.labels == (UNLABELLED, Label.STORY, Label.STORY, UNLABELLED)
    record["segments"] = [{"start": 4, "end": 6, "label": "story"}]  # the blank line between two lines
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(TrainingDataError, match=r"t\.jsonl:1: segment 4-6 holds no text"):
        list(read_training_jsonl(path))


@pytest.mark.parametrize(
    "change, words",
    [
        ({"page_type": ["article"]}, "'page_type' must be a string, not list"),
        ({"story": 123}, "'story' must be a string, not int"),
        ({"html": 5}, "'html' must be a string, not int"),
        ({"segments": 5}, "'segments' must be a list of spans"),
        ({"segments": [{"start": 0.9, "end": 4, "label": "chrome"}]}, "bad segment"),
        ({"segments": [{"start": 0, "end": 4, "label": None}]}, "bad segment"),
        ({"site": ["a", "b"]}, "'site' must be a string, not list"),
        ({"segments": [{"start": 0, "end": 4}]}, 'a span is {"start", "end", "label"}'),
        ({"segments": [[0, 4, "chrome"]]}, 'a span is {"start", "end", "label"}'),
        ({"segments": [{"start": 0, "end": 500, "label": "chrome"}]}, "segment 0-500 is not a span of 'text'"),
        (
            {"segments": [{"start": 5, "end": 18, "label": "story"}, {"start": 5, "end": 18, "label": "chrome"}]},
            "the line at 5-18 is labelled both story and chrome (segment 5-18 overlaps another span)",
        ),
    ],
)
def test_fields_of_the_wrong_type_are_refused_with_the_file_and_line(change, words, tmp_path):
    record = {"id": "p", "site": "s", "text": "Menu\nA story line.\n", **change}
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(TrainingDataError, match=re.escape("t.jsonl:1: ") + ".*" + re.escape(words)):
        list(read_training_jsonl(path))


def test_sources_of_the_same_file_name_keep_apart(tmp_path):
    from classifier.corpus.documents import source_names

    a, b, c = tmp_path / "a" / "test.jsonl", tmp_path / "b" / "test.jsonl", tmp_path / "train.jsonl"
    assert source_names([a, b, c]) == {a: str(a), b: str(b), c: "train.jsonl"}


def test_a_web_corpus_index_line_without_an_id_is_refused_with_its_line(tmp_path):
    from classifier.corpus.webpages import read_web_pages

    (tmp_path / "html").mkdir()
    for bad in ('{"url": "https://example.com/a"}', '["not", "an", "object"]'):
        (tmp_path / "pages.jsonl").write_text(bad + "\n")
        with pytest.raises(TrainingDataError, match=r"pages\.jsonl:1: each line is an object with the page's 'id'"):
            list(read_web_pages(tmp_path))


def test_a_text_page_with_its_story_and_no_spans_is_labelled_by_the_story(tmp_path):
    text = "Home | News\nTroops entered the town at dawn on Monday.\nResidents stayed indoors all day.\nSubscribe now\n"
    record = {
        "id": "p",
        "site": "my-site",
        "text": text,
        "story": "Troops entered the town at dawn on Monday.\n\nResidents stayed indoors all day.",
    }
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(record) + "\n")
    [doc] = list(read_training_jsonl(path))
    assert doc.labels == (Label.CHROME, Label.STORY, Label.STORY, Label.CHROME)
    # A story that matches no line (another page's) would teach the page's own story as chrome: refused.
    other = record | {"story": "The harbour reopened after the storm, and the ferries ran again on Friday."}
    path.write_text(json.dumps(other) + "\n")
    with pytest.raises(TrainingDataError, match=r"t\.jsonl:1: no line of the page matches its 'story'"):
        list(read_training_jsonl(path))
    path.write_text(json.dumps(record | {"story": ""}) + "\n")  # no story: a page of chrome alone
    assert set(next(read_training_jsonl(path)).labels) == {Label.CHROME}


def test_training_jsonl_names_every_bad_line_in_one_error(tmp_path):
    good = {"id": "g", "text": "A line.", "segments": [{"start": 0, "end": 7, "label": "story"}]}
    lines = [good, "{not json", good | {"topics": "militia"}, good, good | {"segments": [{"start": 0, "end": 7}]}]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    with pytest.raises(TrainingDataError) as refused:
        list(read_training_jsonl(path))
    message = str(refused.value)  # one line, as the command line's errors are
    assert "\n" not in message and message.startswith(f"{path}: 3 lines are not training data: line 2: not valid JSON")
    assert re.findall(r"line (\d+): ", message) == ["2", "3", "5"] and "; line 3: 'topics' must be a list" in message
    # Past twenty, the rest are counted.
    path.write_text("{\n" * 25)
    with pytest.raises(TrainingDataError, match=r"^\S+: 25 lines .*; line 20: not valid JSON \([^;]*\); and 5 more$"):
        list(read_training_jsonl(path))


def test_training_jsonl_errors_name_the_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "a", "text": "x", "segments": [{"start": 1, "end": 2, "label": "story"}]}\n')
    with pytest.raises(TrainingDataError, match=r"t\.jsonl:1"):
        list(read_training_jsonl(path))
    path.write_text('{"id": "a", "text": "x", "segments": [{"start": 0, "end": 1, "label": "boilerplate"}]}\n')
    with pytest.raises(TrainingDataError, match="unknown segment label"):
        list(read_training_jsonl(path))
    for start, end in ((3, 9), (2, 1), (-1, 1)):  # spans that start outside the text, or run backwards
        path.write_text(
            json.dumps({"id": "a", "text": "x y", "segments": [{"start": start, "end": end, "label": "story"}]})
        )
        with pytest.raises(
            TrainingDataError, match=f"segment {start}-{end} is not a span of 'text': it holds 3 characters"
        ):
            list(read_training_jsonl(path))
    path.write_bytes(
        b'{"id": "a", "text": "Caf\xe9 au lait", "segments": [{"start": 0, "end": 12, "label": "story"}]}\n'
    )
    [doc] = list(read_training_jsonl(path))  # not UTF-8: decoded as labelling decodes it
    assert doc.segments[0].text == "Caf\u00e9 au lait" and doc.labels == (Label.STORY,)


def test_the_validation_pages_score_every_threshold_but_do_not_move_the_story_threshold():
    from classifier.training.fit import STORY_THRESHOLD, THRESHOLDS, choose_threshold

    assert STORY_THRESHOLD == 0.5 and STORY_THRESHOLD in THRESHOLDS
    assert choose_threshold({0.4: 0.9103, 0.5: 0.9095, 0.6: 0.9090}) == 0.5
    assert choose_threshold({0.4: 0.90, 0.5: 0.91, 0.6: 0.95}) == 0.5  # a clear gain on a few hundred pages too


def _web_corpus(root, pages):
    """A web-page corpus in the shared layout: pages.jsonl and html/ID.html.gz, one page per (id, url, story)."""
    import gzip

    (root / "html").mkdir(parents=True)
    with open(root / "pages.jsonl", "w", encoding="utf-8") as index:
        for page_id, url, story in pages:
            index.write(json.dumps({"id": page_id, "url": url, "page_type": "article", "main_content": story}) + "\n")
            html = f"<html><body><nav>Home | World</nav><p>{story}</p><footer>Contact us</footer></body></html>"
            (root / "html" / f"{page_id}.html.gz").write_bytes(gzip.compress(html.encode()))
    return root


def test_page_topics_give_topics_to_one_rendering_of_each_page_and_never_to_held_out_sites(tmp_path):
    from classifier.training.sources import read_sources

    sites = [f"site{i}.example" for i in range(40)]
    kept = next(s for s in sites if not is_held_out(s))
    held = next(s for s in sites if is_held_out(s))
    story = "Troops raided a rebel camp near the border on Tuesday, the army said in a statement."
    corpus = _web_corpus(tmp_path / "news", [("a", f"https://{kept}/1", story), ("b", f"https://{held}/2", story)])
    given = tmp_path / "topics.jsonl"
    given.write_text(
        json.dumps({"corpus": "news", "page": "a", "topics": ["militia", "security_operation"]})
        + "\n"
        + json.dumps({"corpus": "news", "page": "b", "topics": ["militia"]})
        + "\n"
    )
    said = []
    sources = read_sources([corpus, given], cache=None, html=True, held_out_fraction=0.25, progress=said.append)
    documents = sources[0].documents
    assert {d.id.split(":")[0] for d in documents} == {"a"}  # the held-out site's page is not read
    tagged = [d for d in documents if d.topics is not None]
    assert [(d.id, d.topics) for d in tagged] == [("a:html-text", ("militia", "security_operation"))]
    assert sources[1].kind == "page-topics" and len(sources[1].page_topics) == 2 and sources[1].pages_found == 1
    assert "topics.jsonl: topics for 1 pages; 1 name pages not read (on held-out sites" in said[-1]
    # Gzipped, and naming a corpus that is not given: said, not silently dropped.
    import gzip

    zipped = tmp_path / "topics.jsonl.gz"
    zipped.write_bytes(gzip.compress(given.read_bytes() + b'{"corpus": "News", "page": "a", "topics": []}\n'))
    said.clear()
    sources = read_sources([corpus, zipped], cache=None, html=False, held_out_fraction=0.25, progress=said.append)
    assert sources[1].pages_found == 1 and said[-1].endswith("; 1 name corpora not given (News)")
    # Two corpora of one name: their pages' topics could not be told apart.
    twin = _web_corpus(tmp_path / "twin" / "news", [("c", f"https://{kept}/3", story)])
    with pytest.raises(TrainingDataError, match="two web-page corpora are named news"):
        read_sources([corpus, twin, given], cache=None, html=False, held_out_fraction=0.25)


def test_page_topics_files_are_checked(tmp_path):
    from classifier.corpus.documents import read_page_topics

    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(
        json.dumps({"id": "x", "text": "A page.\n", "topics": []})
        + "\n"
        + json.dumps({"corpus": "news", "page": "a", "topics": []})
        + "\n"
    )
    with pytest.raises(TrainingDataError, match=re.escape("mixed.jsonl:2: the topics of a web-page corpus's pages")):
        list(read_training_jsonl(mixed))
    twice = tmp_path / "twice.jsonl"
    twice.write_text('{"corpus": "news", "page": "a", "topics": []}\n{"corpus": "news", "page": "a", "topics": []}\n')
    with pytest.raises(TrainingDataError, match=re.escape("twice.jsonl:2: page a of news is given twice")):
        read_page_topics(twice)
    for topics in ('"militia"', "null", '[""]'):
        bad = tmp_path / "bad.jsonl"
        bad.write_text(f'{{"corpus": "news", "page": "a", "topics": {topics}}}\n')
        with pytest.raises(TrainingDataError, match=re.escape("bad.jsonl:1: ")):
            read_page_topics(bad)
    other = tmp_path / "other.jsonl"
    other.write_text('{"corpus": "news", "page": "a", "topics": []}\n{"id": "x", "text": "A page."}\n')
    with pytest.raises(TrainingDataError, match=re.escape("other.jsonl:2: a file of page topics holds only")):
        read_page_topics(other)
    # Every bad line of the file in one error, as training files have them, a bad first line included.
    from classifier.training.sources import read_sources

    several = tmp_path / "several.jsonl"
    several.write_text(
        "{\n"
        + '{"corpus": "news", "page": "a", "topics": []}\n'
        + '{"corpus": "news", "page": "a", "topics": []}\n'
        + '{"corpus": "news", "page": "b", "topics": "militia"}\n'
    )
    with pytest.raises(
        TrainingDataError, match=r"several\.jsonl: 3 lines .*line 1: not valid JSON.*line 3: .*line 4: "
    ):
        read_sources([several], cache=None, html=False, held_out_fraction=0.25)
    pages = tmp_path / "pages.jsonl"
    pages.write_text('{\n{"id": "p", "text": "A line."}\n{"id": "q", "topics": "militia", "text": "x"}\n')
    with pytest.raises(TrainingDataError, match=r"pages\.jsonl: 2 lines .*line 1: not valid JSON.*; line 3: "):
        read_sources([pages], cache=None, html=False, held_out_fraction=0.25)


def test_the_projects_page_topics_name_pages_of_the_shared_corpora():
    from pathlib import Path

    from classifier.corpus.documents import read_page_topics

    given = read_page_topics(Path(__file__).parent.parent / "training" / "corpus" / "web-topics.jsonl")
    shared = Path(__file__).parent.parent.parent / "shared" / "datasets"
    if not shared.is_dir():
        pytest.skip("the shared data is not beside the repository")
    for corpus in {c for c, _ in given}:
        with open(shared / corpus / "pages.jsonl", encoding="utf-8") as index:
            ids = {json.loads(line)["id"] for line in index if line.strip()}
        assert {page for c, page in given if c == corpus} <= ids, corpus


def test_rendering_without_the_train_extra_says_which_extra(monkeypatch):
    import sys

    from classifier.corpus.webpages import scrape_text

    monkeypatch.setitem(sys.modules, "html_text", None)  # as if not installed: importing it raises ImportError
    with pytest.raises(TrainingDataError, match=r"needs the train extra \(html_text is missing\): pip install"):
        scrape_text("<p>A page.</p>", "html-text")


def test_evaluation_reads_only_the_pages_it_scores_and_keeps_corpora_of_one_name_apart(tmp_path):
    from classifier.evaluation.evaluate import read_gold

    sites = [f"site{i}.example" for i in range(40)]
    kept = next(s for s in sites if not is_held_out(s))
    held = next(s for s in sites if is_held_out(s))
    story = "Troops raided a rebel camp near the border on Tuesday, the army said in a statement."
    pages = [("a", f"https://{kept}/1", story), ("b", f"https://{held}/2", story)]
    first, second = _web_corpus(tmp_path / "v1" / "news", pages), _web_corpus(tmp_path / "v2" / "news", pages)
    (first / "html" / "a.html.gz").write_bytes(b"not gzip")  # a training site's page: never read to evaluate
    documents = read_gold([first, second], renderers=["html"])
    assert [(d.id, d.corpus) for d in documents] == [("b:html", str(first)), ("b:html", str(second))]
    with pytest.raises(InputError, match=r"left out all 2 read; their types: article"):
        read_gold([first, second], renderers=["html"], page_types=["blog"])
    index = first / "pages.jsonl"
    index.write_text(index.read_text().replace('"page_type": "article"', '"page_type": ["article"]'))
    assert len(read_gold([first], renderers=["html"], page_types=["blog"])) == 1  # a type not a string: no type
