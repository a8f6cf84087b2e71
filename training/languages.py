"""Our news pages in other languages: the files they are composed from, and a check of each.

``training/corpus/languages/CODE.json`` holds, for one language, a small
bank of a news site's chrome in that language (menus, bylines, dates,
share and subscribe prompts, cookie notices, footers) and stories written
for this project in it (headline, one-sentence summary, paragraphs, topic
tags by the shared guidelines). ``python -m training.compose`` lays them
out as pages, as it does the English ones.

    python -m training.languages                 # check every language file
    python -m training.languages de fr           # check some
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

LANGUAGES = Path(__file__).parent / "corpus" / "languages"
TAGS = {"security_operation", "militia", "politics"}
# Least entries of each list in a language's bank.
MINIMUM = {
    "sites": 6,
    "sections": 30,
    "utility": 15,
    "section_headings": 12,
    "cookie": 4,
    "newsletter": 5,
    "footer": 10,
    "bylines": 6,
    "names": 30,
    "photo_credits": 5,
    "author_bios": 5,
    "promo": 6,
    "agencies": 4,
    "date_formats": 4,
}
PHRASES = ("skip", "home", "read_more", "advertisement", "sign_up", "tags", "comments", "accept")
# Placeholders the composer fills, by where they may appear.
FIELDS = {
    "bylines": {"name", "name2", "agency"},
    "photo_credits": {"name", "agency", "site"},
    "author_bios": {"name", "site", "handle", "email"},
    "date_formats": {"day", "month", "mm", "year", "hour", "minute", "weekday"},
}
STORIES = 16
_PLACEHOLDER = re.compile(r"\{(\w*)\}")


def problems(bank: dict, code: str) -> list[str]:
    """What is wrong with one language file (empty when nothing is)."""
    found: list[str] = []
    if bank.get("language") != code:
        found.append(f"'language' must be {code!r}")
    for key in ("name", "script", "direction"):
        if not isinstance(bank.get(key), str):
            found.append(f"'{key}' must be a string")
    if bank.get("direction") not in ("ltr", "rtl"):
        found.append("'direction' must be ltr or rtl")
    for key, count in (("months", 12), ("weekdays", 7)):
        values = bank.get(key)
        if not (isinstance(values, list) and len(values) == count and all(isinstance(v, str) and v for v in values)):
            found.append(f"'{key}' must list {count} names")
    for key, least in MINIMUM.items():
        values = bank.get(key)
        if not isinstance(values, list) or len(values) < least:
            found.append(f"'{key}' needs at least {least} entries")
            continue
        if len(set(map(json.dumps, values))) != len(values):
            found.append(f"'{key}' repeats an entry")
        allowed = FIELDS.get(key, set())
        for value in values:
            texts = [value["name"], value["tagline"]] if key == "sites" and isinstance(value, dict) else [value]
            for text in texts:
                if not isinstance(text, str) or not text.strip():
                    found.append(f"'{key}': {value!r} is not a string")
                    continue
                unknown = set(_PLACEHOLDER.findall(text)) - allowed
                if unknown:
                    found.append(f"'{key}': {text!r} uses {sorted(unknown)}; allowed: {sorted(allowed)}")
    comments = bank.get("comment_lines", {})
    if not (
        isinstance(comments, dict) and len(comments.get("comments", [])) >= 10 and len(comments.get("meta", [])) >= 4
    ):
        found.append("'comment_lines' needs 'comments' (10+) and 'meta' (4+)")
    phrases = bank.get("phrases", {})
    for key in PHRASES:
        value = phrases.get(key) if isinstance(phrases, dict) else None
        if not (isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)):
            found.append(f"'phrases.{key}' must be a list of strings")
    stories = bank.get("stories", [])
    if not isinstance(stories, list) or len(stories) < STORIES:
        found.append(f"'stories' needs at least {STORIES} stories")
        stories = stories if isinstance(stories, list) else []
    ids = set()
    for number, story in enumerate(stories):
        where = f"story {number}"
        if not isinstance(story, dict):
            found.append(f"{where} is not an object")
            continue
        if not str(story.get("id", "")).startswith(f"{code}-") or story["id"] in ids:
            found.append(f"{where}: id must be unique and start with '{code}-'")
        ids.add(story.get("id"))
        for key in ("title", "dek"):
            if not isinstance(story.get(key), str) or not story[key].strip():
                found.append(f"{where}: '{key}' must be a string")
        body = story.get("body")
        if not (
            isinstance(body, list) and 3 <= len(body) <= 10 and all(isinstance(p, str) and p.strip() for p in body)
        ):
            found.append(f"{where}: 'body' must be 3 to 10 paragraphs")
        elif any("\n" in p for p in body):
            found.append(f"{where}: a paragraph holds a line break")
        topics = story.get("topics")
        if not (isinstance(topics, list) and set(topics) <= TAGS):
            found.append(f"{where}: 'topics' must be a list of {sorted(TAGS)}")
    return found


def main(argv: list[str] | None = None) -> int:
    codes = list(sys.argv[1:] if argv is None else argv) or sorted(p.stem for p in LANGUAGES.glob("*.json"))
    failed = 0
    for code in codes:
        path = LANGUAGES / f"{code}.json"
        try:
            bank = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            print(f"{code}: cannot read {path}: {error}")
            failed += 1
            continue
        found = problems(bank, code)
        stories = bank.get("stories", [])
        tagged = {tag: sum(tag in s.get("topics", []) for s in stories if isinstance(s, dict)) for tag in sorted(TAGS)}
        print(f"{code}: {len(stories)} stories, tags {tagged}: " + ("ok" if not found else f"{len(found)} problems"))
        for problem in found:
            print(f"  - {problem}")
        failed += bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
