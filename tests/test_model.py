import json
import shutil

import numpy as np
import pytest

from classifier.errors import InputError, ModelError
from classifier.limits import DocumentLimits
from classifier.model.model import load_model
from classifier.records import Document, Label


def copy_bundle(src, dst_dir):
    dst = dst_dir / src.name
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".json"), dst.with_suffix(".json"))
    return dst


def test_card_records_hash_versions_and_identity(tiny_model_path):
    card = json.loads(tiny_model_path.with_suffix(".json").read_text())
    assert len(card["sha256"]) == 64
    assert card["libraries"]["scikit-learn"]
    assert card["name"] == "tiny" and card["version"] == 1


def test_loaded_model_labels_text(tiny_model, harbour_text):
    doc = tiny_model.label(harbour_text, id="harbour")
    assert doc.model == "tiny@1"
    assert all(harbour_text[s.segment.start : s.segment.end] == s.text for s in doc.segments)
    assert doc.story == "\n\n".join(s.text for s in doc.segments if s.label is Label.STORY)
    assert 0.0 <= min(s.score for s in doc.segments) <= max(s.score for s in doc.segments) <= 1.0


def test_the_record_says_the_language_of_the_story(tiny_model, harbour_text):
    doc = tiny_model.label(harbour_text, id="harbour")
    assert doc.language == "en" and doc.to_record()["language"] == "en"
    assert list(doc.to_record())[:4] == ["id", "model", "title", "language"]
    assert tiny_model.label("Menu\nHome", id="nothing").language is None  # no story to tell it by


def test_the_title_of_a_text_page_is_its_first_headline_line(tiny_model, harbour_text):
    doc = tiny_model.label(harbour_text, id="harbour")
    assert doc.title == "Port Elnor Evening Post"  # the page's first line that reads as a headline: its masthead
    assert doc.to_record()["title"] == doc.title
    assert tiny_model.label("Menu\nHome", id="nothing").title is None  # no story: no headline above it


def test_the_title_of_an_html_page_is_its_title_else_its_first_h1(tiny_model):
    page = "<html><head><title> Dock strike\n ends </title></head><body><h1>Other</h1><p>Text.</p></body></html>"
    assert tiny_model.label(html=page).title == "Dock strike ends"
    assert tiny_model.label(html="<body><svg><title>icon</title></svg><h1>The headline</h1><p>x</p>").title == (
        "The headline"
    )
    assert tiny_model.label(html="<body><p>No heading at all.</p></body>").title is None


def test_a_bundle_of_another_format_is_refused_before_it_is_unpickled(tiny_model_path, tmp_path):
    path = copy_bundle(tiny_model_path, tmp_path)
    card = json.loads(path.with_suffix(".json").read_text())
    card["bundle_format"] = 1
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"format 1.*retrain"):
        load_model(path)


def test_a_changed_file_is_refused(tiny_model_path, tmp_path):
    path = copy_bundle(tiny_model_path, tmp_path)
    with open(path, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelError, match="does not match its card"):
        load_model(path)


def test_another_scikit_learn_is_refused(tiny_model_path, tmp_path):
    path = copy_bundle(tiny_model_path, tmp_path)
    card = json.loads(path.with_suffix(".json").read_text())
    card["libraries"]["scikit-learn"] = "0.1.0"
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"scikit-learn 0\.1\.0"):
        load_model(path)


def test_missing_model_or_card_is_a_model_error(tiny_model_path, tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "none.model")
    lonely = tmp_path / "lonely.model"
    shutil.copy(tiny_model_path, lonely)
    with pytest.raises(ModelError, match="card not found"):
        load_model(lonely)


def test_label_needs_text(tiny_model):
    with pytest.raises(InputError):
        tiny_model.label(None)


def test_label_many_keeps_order_and_isolates_failures(tiny_model):
    from classifier.records import Document, FailedDocument

    docs = [Document("a", text="One line.\nTwo"), Document("b"), Document("c", text="")]
    results = list(tiny_model.label_many(iter(docs), chunk_size=2))
    assert [r.id for r in results] == ["a", "b", "c"]
    assert isinstance(results[1], FailedDocument)
    assert results[2].segments == ()


def test_a_page_labels_the_same_alone_and_batched_with_others(tiny_model, harbour_text):
    from classifier.records import Document

    from .conftest import tiny_documents

    others = [Document(str(i), text=d.text) for i, d in enumerate(tiny_documents())]
    pages = [*others[:5], Document("harbour", text=harbour_text), *others[5:]]
    batched = {r.id: r for r in tiny_model.label_many(pages, chunk_size=len(pages))}["harbour"]
    alone = tiny_model.label(harbour_text, id="harbour")
    assert [s.score for s in batched.segments] == [s.score for s in alone.segments]
    assert batched.topics == alone.topics


def test_a_very_long_page_is_scored_in_pieces_of_bounded_size(tiny_model, harbour_text, monkeypatch):
    from classifier.segment.text import split_text

    long_text = "\n\n".join([harbour_text] * 3)
    whole = split_text(long_text)
    monkeypatch.setattr("classifier.model.labelling.PAGE_SEGMENTS", 10)
    seen = []
    real = tiny_model.text_classifier.predict_proba
    monkeypatch.setattr(tiny_model.text_classifier, "predict_proba", lambda X: seen.append(len(X)) or real(X))
    result = tiny_model.label(long_text)
    assert max(seen) <= 10 and sum(seen) == len(whole) == len(result.segments)
    pieces = [whole[i : i + 10] for i in range(0, len(whole), 10)]
    assert [s.score for s in result.segments] == [float(p) for piece in pieces for p in real(piece)[:, 1]]
    assert all(long_text[s.segment.start : s.segment.end] == s.text for s in result.segments)


def test_labelling_runs_the_native_thread_pools_at_one_thread_unless_asked(tiny_model, harbour_text, monkeypatch):
    from threadpoolctl import threadpool_info

    seen = []
    real = tiny_model.text_classifier.predict_proba

    def spy(X):
        seen.append({pool["user_api"]: pool["num_threads"] for pool in threadpool_info()})
        return real(X)

    monkeypatch.setattr(tiny_model.text_classifier, "predict_proba", spy)
    monkeypatch.delenv("STORYFILTER_THREADS", raising=False)
    tiny_model.label(harbour_text)
    list(tiny_model.label_many([harbour_text]))
    assert len(seen) == 2 and all(set(pools.values()) == {1} for pools in seen)
    monkeypatch.setattr(tiny_model, "threads", 2)
    tiny_model.label(harbour_text)
    assert set(seen[-1].values()) == {2}
    monkeypatch.setattr(tiny_model, "threads", None)
    monkeypatch.setenv("STORYFILTER_THREADS", "2")
    tiny_model.label(harbour_text)
    assert set(seen[-1].values()) == {2}


def test_label_chunk_takes_what_label_many_takes(tiny_model, harbour_text):
    from classifier.records import FailedDocument

    results = tiny_model.label_chunk([{"id": "a", "text": harbour_text}, harbour_text, None, b"x"])
    assert [r.id for r in results] == ["a", "1", "2", "3"]
    assert [(s.text, s.label, s.score) for s in results[0].segments] == [
        (s.text, s.label, s.score) for s in results[1].segments
    ]
    assert results[0].segments
    assert all(isinstance(r, FailedDocument) and "give a Document" in r.message for r in results[2:])


def test_arguments_of_the_wrong_type_are_refused_with_a_clear_error(tiny_model):
    from classifier.errors import InputError
    from classifier.model.model import load_model

    for wrong in ({"threads": "2"}, {"threads": 0}, {"limits": 5}):
        with pytest.raises(InputError, match="or None, not"):
            load_model(**wrong)
    topic = tiny_model.tag_names[0]
    for score in ("0.5", 5, -1, float("nan")):
        with pytest.raises(InputError, match="min_score is a probability"):
            tiny_model.filter(["A page."], topics=topic, min_score=score)
    for topics in (None, [], [topic, 3]):
        with pytest.raises(InputError, match="topics is a topic's name"):
            tiny_model.filter(["A page."], topics=topics)
    # Set on a loaded model, checked as load_model checks them (they failed at the next page, obscurely).
    for name, wrong in (("threads", "x"), ("threads", 0), ("limits", (10, 10))):
        with pytest.raises(InputError, match="or None, not"):
            setattr(tiny_model, name, wrong)
    assert tiny_model.threads is None and isinstance(tiny_model.limits, DocumentLimits)
    with pytest.raises(InputError, match="max_segments must be a positive whole number"):
        DocumentLimits(max_segments=-5)
    # The run's own arguments, at the call rather than at the first result (or never).
    for arguments in ({"chunk_size": 0}, {"chunk_size": "7"}, {"chunk_size": 2.5}, {"workers": 0}, {"workers": "2"}):
        with pytest.raises(InputError, match="is a whole number, 1 or more"):
            tiny_model.label_many(["A page."], **arguments)
    with pytest.raises(InputError, match="scheduler is a Dask scheduler's address"):
        tiny_model.label_many(["A page."], scheduler=42)
    [page] = tiny_model.label_many(["A page."], chunk_size=np.int64(8))  # numpy's whole numbers are whole numbers
    assert page.id == "0"
    for document, why in (
        (
            Document(id="b", text=b"A page."),
            "document text must be a string (html may also be the file's bytes), not bytes",
        ),
        (Document(id="n", html=5), "document html must be a string (html may also be the file's bytes), not int"),
        (Document(id="e"), "document has no text"),
    ):
        [failed] = tiny_model.label_many([document])
        assert (failed.error_type, failed.message) == ("InputError", why)
    for not_iterable in (None, 42):
        with pytest.raises(InputError, match="give the documents as an iterable"):
            tiny_model.label_many(not_iterable)
    # One document where an iterable of them is asked for: its characters or keys are no pages.
    for one in ("A page.", {"id": "x", "text": "A page."}):
        for call in (tiny_model.label_many, tiny_model.label_chunk, lambda d: tiny_model.filter(d, topics=topic)):
            with pytest.raises(InputError, match="give the documents as an iterable"):
                call(one)


def test_overlapping_calls_put_the_native_pools_back_as_they_were():
    """The BLAS pools are the process's: the last of overlapping calls puts back what was before the first."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from classifier.model.threads import native_threads

    def threads():
        return {pool["filepath"]: pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    with threadpool_limits(2):
        before = threads()
        first, second = native_threads(1), native_threads(1)
        first.__enter__()
        second.__enter__()  # another thread's call starts while the first runs ...
        first.__exit__(None, None, None)  # ... and outlives it
        assert set(threads().values()) == {1}  # still limited for the call that runs
        second.__exit__(None, None, None)
        assert threads() == before  # not the first call's limit, which the second saw when it started


def test_each_threads_openmp_setting_comes_back_when_its_own_call_ends():
    """OpenMP's thread count is each thread's: a call that ends before another thread's gets its own back."""
    import threading

    from threadpoolctl import threadpool_info, threadpool_limits

    from classifier.model.threads import native_threads

    def openmp():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"]

    if not openmp():
        pytest.skip("no OpenMP runtime loaded")
    started, ended = threading.Event(), threading.Event()
    seen = {}

    def first():
        with threadpool_limits(2, user_api="openmp"):
            with native_threads(1):
                seen["inside"] = openmp()
                started.wait(timeout=30)  # the other thread's call has begun
            seen["after"] = openmp()  # the other call runs on
            ended.set()

    def second():
        with native_threads(1):
            started.set()
            ended.wait(timeout=30)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert seen == {"inside": [1] * len(openmp()), "after": [2] * len(openmp())}


def test_threads_labelling_at_once_share_one_pause_of_the_collector(tiny_model, harbour_text):
    import gc
    import threading

    from classifier.model.labelling import _gc_paused

    together = threading.Barrier(3)
    seen = []

    def work():
        with _gc_paused():
            together.wait(timeout=30)  # all three inside
            seen.append(gc.isenabled())
            together.wait(timeout=30)  # none has left before all looked

    for collector_on in (True, False):
        gc.enable() if collector_on else gc.disable()
        seen.clear()
        threads = [threading.Thread(target=work) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert seen == [False, False, False]
        assert gc.isenabled() == collector_on  # as it was before the first
    gc.enable()
    # Labelling from several threads at once gives what labelling alone gives.
    alone = tiny_model.label(harbour_text, id="h")
    results = []
    workers = [
        threading.Thread(target=lambda: results.append(tiny_model.label(harbour_text, id="h"))) for _ in range(4)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert results == [alone] * 4 and gc.isenabled()


def _probe(code: str) -> list[str]:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_labelling_does_not_import_scipy_stats_and_what_scikit_learn_took_from_it_still_works(tiny_model_path):
    code = (
        "import sys\n"
        "from classifier.model.model import load_model\n"
        f"load_model({str(tiny_model_path)!r}).label('A headline\\n\\nA sentence of the story that goes on.')\n"
        "print('scipy.stats' in sys.modules)\n"
        "from sklearn._loss import link\n"
        "from sklearn.covariance import _robust_covariance\n"
        "print(link.gmean([1.0, 4.0]), round(_robust_covariance.chi2.ppf(0.5, df=2), 6))\n"
        "import scipy.stats\n"
        "print(type(sys.modules['scipy.stats']).__name__, round(scipy.stats.chi2.ppf(0.5, df=2), 6))\n"
        "import scipy.stats.distributions\n"  # the real package: its submodules import
    )
    assert _probe(code) == ["False", "2.0 1.386294", "module 1.386294"]


def test_the_deferred_names_copy_and_pickle_as_the_real_ones_and_a_module_holding_the_stand_in_reaches_the_real():
    code = (
        "import copy, pickle\n"
        "import classifier.model.model\n"
        "from sklearn._loss import link\n"
        "from sklearn.preprocessing import _data\n"  # from scipy import sparse, stats: the stand-in, kept
        "import scipy.stats\n"
        "print(copy.copy(link.gmean) is scipy.stats.gmean, pickle.loads(pickle.dumps(link.gmean)) is scipy.stats.gmean)\n"
        "print(_data.stats.norm is scipy.stats.norm, _data.stats.__file__ == scipy.stats.__file__)\n"
    )
    assert _probe(code) == ["True True", "True True"]


def test_scikit_learn_is_imported_as_usual_when_it_needs_more_of_scipy_stats_or_is_not_a_checked_release():
    from classifier.model import imports

    load = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('probe', {imports.__file__!r})\n"
        "probe = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(probe)\n"
    )
    # sklearn.inspection imports a submodule of scipy.stats, which the stand-in (no package) cannot give.
    more = "probe.ESTIMATOR_MODULES += ('sklearn.inspection',)\n"
    other = "probe.CHECKED_RELEASES = ()\n"
    report = "probe.import_scikit_learn()\nprint(type(sys.modules.get('scipy.stats')).__name__)\n"
    assert _probe(load + more + report) == ["module"]
    assert _probe(load + other + "print(probe.defers_scipy_stats())\n" + report) == ["False", "module"]


def test_scipy_docstrings_stay_as_written_while_the_model_package_imports_and_are_rewritten_after():
    code = (
        "import classifier.model\n"
        "import scipy._lib._array_api as array_api, scipy._lib._util as util, scipy.special\n"
        "from scipy._lib._docscrape import FunctionDoc\n"
        "print(array_api.FunctionDoc is FunctionDoc, util.FunctionDoc is FunctionDoc)\n"
        "doc = scipy.special.logsumexp.__doc__\n"  # imported with scikit-learn: as written, no notes
        "print(doc.lstrip().startswith('Compute the log of the sum'), 'Array API Standard Support' in doc)\n"
        "print(round(float(scipy.special.logsumexp([0.0, 0.0])), 6))\n"
        "import scipy.signal\n"  # imported afterwards: its docstrings get SciPy's notes
        "print('Array API Standard Support' in scipy.signal.convolve.__doc__)\n"
    )
    assert _probe(code) == ["True True", "True False", "0.693147", "True"]


@pytest.mark.parametrize(
    ("first", "holder", "same"),
    [
        ("import scipy.stats", "from sklearn._loss import link", "link.gmean is scipy.stats.gmean"),
        ("import narwhals.stable.v2 as nw", "from sklearn.utils import validation", "validation.nw is nw"),
    ],
)
def test_a_program_that_imported_a_put_off_module_first_keeps_its_own(first, holder, same):
    code = f"{first}\nimport classifier.model.model\n{holder}\nprint({same})\n"
    assert _probe(code) == ["True"]


def test_numpy_compiler_and_test_tools_are_not_imported_by_the_model_package_and_import_after():
    code = (
        "import sys\n"
        "import classifier.model\n"
        "import numpy\n"
        "print('numpy.f2py' in sys.modules, 'numpy.testing' in sys.modules)\n"
        "print('f2py' in numpy.__all__, 'testing' in numpy.__all__, 'testing' in dir(numpy))\n"  # whole again
        "numpy.testing.assert_array_equal(numpy.arange(3), [0, 1, 2])\n"
        "import scipy._lib.array_api_compat.numpy as compat\n"
        "print(hasattr(compat, 'testing'), float(compat.sum(compat.asarray([1.0, 2.0]))))\n"
    )
    assert _probe(code) == ["False False", "True True True", "False 3.0"]


def test_narwhals_is_not_imported_to_label_and_imports_when_scikit_learn_asks_for_it(tiny_model_path):
    code = (
        "import sys\n"
        "from classifier.model.model import load_model\n"
        f"load_model({str(tiny_model_path)!r}).label('A headline\\n\\nA sentence of the story that goes on.')\n"
        "print(any(name.startswith('narwhals') for name in sys.modules))\n"
        "import numpy\n"
        "from sklearn.utils import validation\n"  # holds the stand-in: it reaches the real module
        "print(validation.check_array([[1.0, 2.0]]).shape, 'narwhals.stable.v2' in sys.modules)\n"
        "import narwhals.stable.v2 as nw\n"
        "print(type(sys.modules['narwhals']).__name__, validation.nw.from_native is nw.from_native)\n"
        "print(vars(validation.nw)['from_native'] is nw.from_native, validation.nw.__file__ == nw.__file__)\n"
    )
    assert _probe(code) == ["False", "(1, 2) True", "module True", "True True"]


def test_a_text_title_is_the_first_line_above_the_story_that_reads_as_a_headline():
    from classifier.model.titles import looks_like_headline, text_title
    from classifier.records import Label

    assert looks_like_headline("Gov. Newsom signs the housing bill")  # an abbreviation is no sentence end
    assert not looks_like_headline("We use cookies to improve your experience. Accept all")
    for prompt in ("Subscribe to our newsletter", "Sign in to read more", "Get our daily newsletter free"):
        assert not looks_like_headline(prompt)  # a call to action (a user's pages had it as every title)
    for headline in ("Share prices fall as the harbour strike goes on", "Newsletter scandal engulfs the ministry"):
        assert looks_like_headline(headline)  # the words, not the prompts
    assert looks_like_headline("Register of lobbyists opens") and looks_like_headline("Login problems hit banks")
    lines = [
        "Home | World | Sport | Business",  # a menu
        "We use cookies to improve your experience on every page of this site. Accept all",
        "Subscribe",
        "Harbour cranes stand idle",
        "Ferry timetable cut for the winter months as islanders say the reduced service hurts",  # longer, later
        "PORT ELNOR - Cargo ships queued outside the port on Tuesday.",
    ]
    labels = [Label.CHROME] * (len(lines) - 1) + [Label.STORY]
    assert text_title(lines, labels) == lines[3]  # the first, not the longest
    assert text_title(lines, [Label.STORY] * len(lines)) is None  # nothing above the story
