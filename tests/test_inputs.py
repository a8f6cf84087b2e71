import codecs
import gzip
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.errors import InputError
from classifier.inputs.decoding import decode_bytes, decode_html
from classifier.inputs.discovery import PassedOver, count_documents, iter_documents
from classifier.inputs.formats import InputFormat
from classifier.inputs.objects import document_from_record
from classifier.inputs.readers import read_path
from classifier.records import Document, FailedDocument

from .conftest import CORPUS_PAGES


def test_text_file_is_one_document_named_after_the_file(tmp_path):
    path = tmp_path / "amara.txt"
    path.write_text("Line one\n\nLine two\n", encoding="utf-8")
    [doc] = list(read_path(path))
    assert doc == Document(id="amara", text="Line one\n\nLine two\n")


def test_directories_are_read_recursively_in_sorted_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.txt").write_text("two")
    (tmp_path / "one.txt").write_text("one")
    (tmp_path / "skip.png").write_bytes(b"\x89PNG")
    with gzip.open(tmp_path / "b" / "three.txt.gz", "wt") as handle:
        handle.write("three")
    docs = list(iter_documents([str(tmp_path)]))
    assert [(d.id, d.text) for d in docs] == [("b/three", "three"), ("b/two", "two"), ("one", "one")]


def test_hidden_entries_and_files_of_other_kinds_in_directories_are_passed_over_and_counted(tmp_path):
    (tmp_path / ".git" / "objects").mkdir(parents=True)
    (tmp_path / ".git" / "objects" / "note.txt").write_text("not a page")
    (tmp_path / ".draft.txt").write_text("hidden")
    (tmp_path / "index.php").write_text("<?php")
    (tmp_path / "README").write_text("read me")
    (tmp_path / "page.txt").write_text("a page")
    passed_over = PassedOver()
    docs = list(iter_documents([str(tmp_path)], passed_over=passed_over))
    assert [d.id for d in docs] == ["page"] and count_documents([str(tmp_path)]) == 1
    assert passed_over == {"hidden": 2, ".php": 1, "no suffix": 1}
    assert (
        passed_over.describe() == "4 files or folders in input directories passed over (2 hidden, 1 .php, 1 no suffix)"
    )
    # Named on its own, a hidden file is read.
    assert [d.text for d in iter_documents([str(tmp_path / ".draft.txt")])] == ["hidden"]


def test_jsonl_carries_extra_fields_and_reports_bad_lines(tmp_path):
    path = tmp_path / "pages.jsonl"
    path.write_text(
        json.dumps({"id": 7, "text": "hello", "source": "crawl-1"})
        + "\n"
        + "{not json\n"
        + json.dumps({"id": "x"})
        + "\n"
        + json.dumps({"id": "y", "text": 3})
        + "\n"
        + "\n"
        + json.dumps({"text": "no id"})
        + "\n"
    )
    docs = list(read_path(path))
    assert docs[0] == Document(id="7", text="hello", extra={"source": "crawl-1"})
    assert isinstance(docs[1], FailedDocument) and ":2" in docs[1].message
    assert isinstance(docs[2], FailedDocument) and "'text' or 'html'" in docs[2].message
    assert isinstance(docs[3], FailedDocument) and "must be a string" in docs[3].message
    assert docs[4].id.endswith(":6") and docs[4].text == "no id"


def test_stdin_is_jsonl(monkeypatch):
    stream = io.BytesIO(b'{"id": "s", "text": "from stdin"}\n')
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(stream))
    [doc] = list(iter_documents(["-"]))
    assert doc.id == "s" and doc.text == "from stdin"


def test_decoding_handles_boms_and_legacy_encodings():
    assert decode_bytes("caf\u00e9".encode("utf-8-sig")) == "caf\u00e9"
    assert decode_bytes("caf\u00e9".encode("utf-16")) == "caf\u00e9"
    text = "Le caf\u00e9 \u00e9tait ferm\u00e9 \u00e0 cause de la gr\u00e8ve des employ\u00e9s du port."
    assert decode_bytes(text.encode("cp1252")) == text


LEGACY_LATIN = [  # our own sentences, each in a code page of its language and in windows-1252 where it fits
    ("cp1254", "Limanda düzenlenen operasyonda iki şüpheli yakalandı. İçişleri Bakanlığı açıklama yaptı."),
    ("iso8859_9", "Güvenlik güçleri bölgede arama çalışmalarını sürdürüyor, ilçede yollar kapalı."),
    ("cp1250", "Policja zatrzymała dwóch podejrzanych w Łodzi. Według rzecznika śledztwo prowadzi prokuratura."),
    ("iso8859_2", "Świadkowie zostali przesłuchani, a port będzie zamknięty do piątku."),
    ("cp1250", "Policie zadržela dva podezřelé muže po přestřelce v Brně; vyšetřování převzal státní zástupce."),
    ("cp1250", "A rendőrség két gyanúsítottat őrizetbe vett a kikötőben, a nyomozás folytatódik."),
    ("cp1250", "Polícia zadržala dvoch podozrivých v Košiciach, podľa hovorcu vyšetrovanie pokračuje."),
    ("cp1257", "Policija sulaikė du įtariamuosius uoste; tyrimą atlieka prokuratūra."),
    ("cp1252", "Die Polizei hat in München zwei Verdächtige festgenommen, die Ermittlungen laufen weiter."),
    ("cp1252", "Lögreglan handtók tvo menn í Reykjavík; að sögn hennar þá er rannsókn á frumstigi."),
    ("cp1252", "Politiet anholdt to mænd i Århus, og ifølge talsmanden er vidner blevet afhørt."),
    ("cp1252", "Le préfet a reçu à Genève les élus, très inquiets après la grève du port."),
    ("cp1252", "\u201cWe will stay,\u201d the mayor said \u2013 costs rose to \u00a35m \u2026"),
]


@pytest.mark.parametrize("encoding, text", LEGACY_LATIN)
def test_legacy_latin_text_is_read_in_the_code_page_its_language_is_written_in(encoding, text):
    """A tie between code pages went to windows-1252: Turkish, Polish, Czech, Hungarian text came out garbled."""
    for copies in (1, 5):
        page = (text + "\n") * copies
        assert decode_bytes(page.encode(encoding)) == page


def test_seven_bit_east_asian_text_is_read_by_its_escapes():
    japanese = "港は一週間の修理の後、月曜日に再開した。船は沖で何日も待っていた。"
    korean = "항구는 일주일 동안의 수리를 마치고 월요일에 다시 문을 열었다."
    assert decode_bytes(japanese.encode("iso2022_jp")) == japanese
    assert decode_bytes(korean.encode("iso2022_kr")) == korean
    page = f"<html><body><p>{japanese}</p></body></html>"
    assert decode_html(page.encode("iso2022_jp")) == page
    assert decode_bytes("ｱｲｳは半角".encode("iso2022_jp_ext")) == "ｱｲｳは半角"  # half-width katakana
    cut = decode_bytes(japanese.encode("iso2022_jp")[:-4])  # the last character cut in two
    assert cut.startswith(japanese[:-2]) and cut.endswith("\ufffd")
    ansi = b"\x1b[31mred\x1b[0m stays as it is"  # other escapes are not those of an encoding
    assert decode_bytes(ansi) == ansi.decode("ascii")


def test_english_pages_in_windows_1252_are_not_read_as_east_asian():
    # A page with a lone (c), dash or accent: the detector read 14 of these 332 as Big5 or Shift_JIS, where each
    # high byte and the letter after it make one character. Text in those scripts runs on; this does not.
    pages = 0
    for line in CORPUS_PAGES.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        try:
            raw = text.encode("cp1252")
        except UnicodeEncodeError:
            continue
        if not raw.isascii():
            pages += 1
            assert decode_bytes(raw) == text
    assert pages > 300


def test_binary_and_broken_gzip_files_become_error_records(tmp_path):
    binary = tmp_path / "blob.txt"
    binary.write_bytes(bytes(range(256)) * 20)
    broken = tmp_path / "cut.txt.gz"
    broken.write_bytes(gzip.compress(b"some text")[:-8])
    for path in (binary, broken):
        [doc] = list(read_path(path))
        assert isinstance(doc, FailedDocument)
        assert doc.error_type == "InputError"


def test_format_can_be_forced(tmp_path):
    path = tmp_path / "page.dat"
    path.write_text('{"id": "j", "text": "t"}\n')
    [doc] = list(read_path(path, InputFormat.JSONL))
    assert doc.id == "j"


def test_record_that_is_not_an_object_fails():
    assert isinstance(document_from_record([1, 2], "f:1"), FailedDocument)


def test_a_page_with_its_own_story_and_model_fields_is_a_page_not_a_label_record():
    page = {"id": "p", "text": "Flood waters rose.", "story": "gold text", "model": "Corolla"}
    document = document_from_record(page, "f:1")
    assert isinstance(document, Document) and document.text == "Flood waters rose."
    written = {"id": "r", "model": "default@11", "story": "s", "topics": {"militia": 0.1}, "tags": [], "text": "s"}
    assert type(document_from_record(written, "f:2")).__name__ == "LabeledDocument"  # --with-text keeps the text
    assert type(document_from_record({"id": "r", "model": "m", "story": "s"}, "f:3")).__name__ == "LabeledDocument"
    cms = {"id": "c", "text": "Militiamen attacked a police post.", "model": "iPhone 15", "story": "", "tags": []}
    assert isinstance(document_from_record(cms, "f:4"), Document)  # a product's model: a page, labelled
    assert isinstance(document_from_record({**written, "text": None, "html": "<p>s</p>"}, "f:5"), Document)
    renamed = {**written, "model": "my model@15"}  # a name set from Python may hold a space
    assert type(document_from_record(renamed, "f:6")).__name__ == "LabeledDocument"


def test_a_null_page_is_named_and_html_bytes_from_python_are_a_page():
    null = document_from_record({"id": "z", "text": None}, "f:1")
    assert isinstance(null, FailedDocument) and "'text' is null: give the page as a string" in null.message
    bare = document_from_record({"id": "z"}, "f:2")
    assert isinstance(bare, FailedDocument) and "needs a 'text' or 'html' field" in bare.message
    page = document_from_record({"id": "b", "html": "<p>Caf\u00e9</p>".encode("utf-8"), "feed": 1}, "f:3")
    assert isinstance(page, Document) and page.html == b"<p>Caf\xc3\xa9</p>" and page.extra == {"feed": 1}
    both = document_from_record({"id": "t", "text": "Cafe.", "html": b"<p>Cafe.</p>"}, "f:4")
    assert isinstance(both, Document) and both.text == "Cafe." and both.html == b"<p>Cafe.</p>"


def test_a_suffix_we_do_not_read_is_named_with_the_formats_we_read(tmp_path):
    for name in ("table.csv", "data.parquet", "paper.pdf", "README", "pages.gz"):
        path = tmp_path / name
        path.write_bytes(b"id,text\n1,hello\n")
        [doc] = list(read_path(path))
        assert isinstance(doc, FailedDocument) and doc.error_type == "InputError"
        assert "not a format storyfilter reads" in doc.message and "WARC (.warc)" in doc.message
    [doc] = list(read_path(tmp_path / "table.csv", InputFormat.TEXT))  # unless a format is asked for
    assert doc == Document(id="table", text="id,text\n1,hello\n")


def test_a_json_file_holds_one_document_or_an_array_of_them(tmp_path):
    array = tmp_path / "pages.json"
    array.write_text(json.dumps([{"id": "a", "text": "One.", "feed": 1}, {"html": "<p>Two.</p>"}, "three"]))
    first, second, third = read_path(array)
    assert first == Document(id="a", text="One.", extra={"feed": 1})
    assert second.id == f"{array}:2" and second.html == "<p>Two.</p>"
    assert isinstance(third, FailedDocument) and third.id == f"{array}:3"
    single = tmp_path / "page.json"
    single.write_text(json.dumps({"text": "Alone."}))
    assert list(read_path(single)) == [Document(id="page", text="Alone.")]
    with gzip.open(tmp_path / "zipped.json.gz", "wt") as handle:
        handle.write(json.dumps([{"id": "z", "text": "Zipped."}]))
    assert [d.id for d in read_path(tmp_path / "zipped.json.gz")] == ["z"]
    for name, content in (("broken.json", "[{"), ("number.json", "42"), ("empty.json", "[]")):
        (tmp_path / name).write_text(content)
    [broken] = read_path(tmp_path / "broken.json")
    assert isinstance(broken, FailedDocument) and "not valid JSON" in broken.message
    [number] = read_path(tmp_path / "number.json")
    assert isinstance(number, FailedDocument) and "an object or an array of objects" in number.message
    assert list(read_path(tmp_path / "empty.json")) == []


def test_stdin_that_is_not_jsonl_is_one_error_that_names_the_formats(monkeypatch):
    page = b"A page piped in\nwithout --format\n\nis not JSONL at all\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(page)))
    [doc] = list(iter_documents(["-"]))
    assert isinstance(doc, FailedDocument) and doc.id == "stdin"
    assert "--format text" in doc.message and "--format html" in doc.message
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(page)))
    assert len(list(iter_documents(["-"], InputFormat.JSONL))) == 3  # asked for JSONL: an error per line
    jsonl = b'\n{"id": "s", "text": "first"}\nnot json\n'
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(jsonl)))
    first, second = iter_documents(["-"])  # JSONL that goes bad later: its bad lines are errors of their own
    assert first.id == "s" and isinstance(second, FailedDocument) and second.id == "standard input:3"


def test_jsonl_in_utf16_or_utf32_is_read_by_its_byte_order_mark(tmp_path, monkeypatch):
    lines = '{"id": "u", "text": "Caf\u00e9 owners met the police."}\n{"id": "v", "text": "\u8b66\u5bdf"}\n'
    marks = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff", "utf-32-le": b"\xff\xfe\x00\x00"}
    for encoding, mark in [*marks.items(), ("utf-32-be", b"\x00\x00\xfe\xff")]:
        raw = mark + lines.encode(encoding)
        path = tmp_path / f"{encoding}.jsonl"
        path.write_bytes(raw)
        gzip_path = tmp_path / f"{encoding}.jsonl.gz"
        gzip_path.write_bytes(gzip.compress(raw))
        for read in (path, gzip_path):
            docs = list(read_path(read))
            assert [(d.id, d.text) for d in docs] == [("u", "Caf\u00e9 owners met the police."), ("v", "\u8b66\u5bdf")]
        stdin = io.TextIOWrapper(io.BufferedReader(io.BytesIO(raw)))
        monkeypatch.setattr("sys.stdin", stdin)
        assert [d.id for d in iter_documents(["-"])] == ["u", "v"]
        assert not stdin.buffer.closed  # read through, not closed


def test_a_jsonl_gz_that_is_not_gzip_is_one_error_record(tmp_path):
    for raw in (b"\x00", b'{"id": "a", "text": "x"}\n', gzip.compress(b'{"id": "a", "text": "x"}\n')[:15]):
        path = tmp_path / "pages.jsonl.gz"
        path.write_bytes(raw)
        [failed] = list(read_path(path))
        assert isinstance(failed, FailedDocument) and "cannot read past line 0" in failed.message


@pytest.mark.parametrize(
    "text", ["Ação policial em São Paulo deixa três mortos", "Ça va?", "Île-de-France", "Müller zieht sich zurück"]
)
def test_a_short_line_in_a_latin_code_page_is_not_read_as_chinese(text, tmp_path):
    path = tmp_path / "legacy.jsonl"
    path.write_bytes(b'{"id": "a", "text": "' + text.encode("cp1252") + b'"}\n')
    [doc] = read_path(path)
    assert doc.text == text
    assert decode_bytes(text.encode("cp1252")) == text


def test_utf32_with_either_byte_order_mark_is_read(tmp_path):
    text = "Une page en UTF-32: l'été, 東京, done.\n"
    for encoding in ("utf-32", "utf-32-le", "utf-32-be"):
        mark = {"utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}.get(encoding, b"")
        assert decode_bytes(mark + text.encode(encoding)) == text
        html = f"<html><body><p>{text}</p></body></html>"
        assert decode_html(mark + html.encode(encoding)) == html


def test_a_subdirectory_that_cannot_be_listed_gets_an_error_record(tmp_path, monkeypatch):
    import os

    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "b.txt").write_text("b")
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "c.txt").write_text("c")
    listing = os.scandir

    def scandir(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    docs = list(iter_documents([str(tmp_path)]))
    assert [d.id for d in docs] == ["a", "c", "locked"]
    assert isinstance(docs[2], FailedDocument) and "cannot list this directory (Permission denied)" in docs[2].message


THAI = (
    "รัฐบาลไทยประกาศมาตรการรักษาความปลอดภัยใหม่ในวันจันทร์ หลังจากเกิดเหตุระเบิดในจังหวัดนราธิวาส "
    "เจ้าหน้าที่กล่าวว่าทหารได้เข้าควบคุมพื้นที่แล้ว และกำลังตรวจค้นบ้านเรือนในหมู่บ้านใกล้เคียง"
)


@pytest.mark.parametrize("declared", ["windows-874", "TIS-620", "x-cp1252", None])
def test_thai_in_windows_874_is_thai_however_it_is_declared(declared):
    # Shift JIS reads every byte from 0xA1 to 0xDF as a half-width katakana: Thai nearly fits it.
    page = f"<html><head><title>ข่าว</title></head><body><p>{THAI}</p></body></html>"
    text = decode_html(page.encode("cp874"), declared=None if declared == "x-cp1252" else declared)
    assert text == page
    assert decode_bytes(THAI.encode("cp874")) == THAI


@pytest.mark.parametrize(
    ("declared", "encoding", "text"),
    [
        ("euc-kr", "cp949", "대통령은 월요일 새로운 정책을 발표했다. 똠방각하 햏"),
        ("ks_c_5601-1987", "cp949", "대통령은 월요일 새로운 정책을 발표했다. 똠방각하"),
        ("shift_jis", "cp932", "知事は月曜日に記者会見を開いた。①㈱"),
        ("windows-31j", "cp932", "知事は月曜日に記者会見を開いた。①㈱"),
        ("big5", "big5hkscs", "佢哋嘅政府今日宣佈新嘅措施。"),
        ("windows-1251", "cp1251", "Правительство объявило новые меры."),
        ("koi8-ru", "koi8_u", "Уряд оголосив нові заходи. Ґанок."),
        ("us-ascii", "cp1252", "café “quoted”"),
    ],
)
def test_a_declared_charset_is_read_as_browsers_read_it(declared, encoding, text):
    """Labels browsers know that Python's codecs do not, and the larger encodings browsers read for a few."""
    page = f"<html><body><p>{text}</p></body></html>"
    assert decode_html(page.encode(encoding), declared=declared) == page


def test_binary_bytes_are_refused_whatever_charset_is_declared():
    image = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40
    for declared in ("ISO-8859-1", "windows-1252", "utf-8", None):
        with pytest.raises(InputError, match="binary"):
            decode_html(image, declared=declared)
    with pytest.raises(InputError, match="binary"):
        decode_html(b'<meta charset="iso-8859-1">' + bytes(range(256)) * 20)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"\n", b"  ", b"\r\n", b'{"text": "x"}', b"\t", b"\x0c", b"\n\n"]), max_size=30))
def test_counting_lines_in_blocks_finds_the_lines_that_hold_more_than_white_space(pieces):
    """As the JSONL reader passes blank lines over, the progress total does not count them, whatever the blocks."""
    from classifier.inputs import readers

    data = b"".join(pieces)

    class ThreeBytesAtATime(io.BytesIO):
        def read(self, size=-1):
            return super().read(3)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "_open_binary", lambda path: ThreeBytesAtATime(data))
        assert readers.count_lines(Path("any.jsonl")) == sum(1 for line in data.split(b"\n") if line.strip())


def test_an_empty_gzipped_page_is_an_error_record_not_an_empty_page(tmp_path):
    (tmp_path / "e.txt.gz").write_bytes(b"")
    [failed] = list(iter_documents([str(tmp_path)]))
    assert failed.error_type == "InputError" and "not a valid gzip file (it is empty" in failed.message


def test_linked_folders_and_pipes_with_a_pages_name_are_passed_over_and_counted(tmp_path):
    import os

    from classifier.inputs.discovery import PassedOver, input_files

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.txt").write_text("a page")
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    (crawl / "b.txt").write_text("a page")
    (crawl / "latest").symlink_to(elsewhere, target_is_directory=True)
    os.mkfifo(crawl / "p.txt")
    passed_over = PassedOver()
    assert [p.name for p in input_files(crawl, passed_over)] == ["b.txt"]
    assert passed_over == {"linked folder": 1, "not a regular file": 1}
    assert [p.name for p in input_files(crawl / "latest")] == ["a.txt"]  # named, the link is read


def test_gzipped_standard_input_is_read_as_gzip_in_every_format():
    from classifier.inputs.formats import InputFormat
    from classifier.inputs.stdin import read_stream

    def piped(data: bytes) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(data))

    jsonl = b'{"id": "a", "text": "A line."}\n{"id": "b", "text": "Another."}\n'
    assert [d.id for d in read_stream(piped(gzip.compress(jsonl)), "-", InputFormat.AUTO)] == ["a", "b"]
    [page] = read_stream(piped(gzip.compress(b"Une page.\n")), "-", InputFormat.TEXT)
    assert page.text == "Une page.\n"
    [cut] = read_stream(piped(gzip.compress(bytes(range(256)) * 400)[:500]), "-", InputFormat.TEXT)
    assert cut.error_type == "InputError" and "not a valid gzip stream" in cut.message
