"""Compose the project's labelled training pages from its own stories.

Real scraped news pages wrap a story in site chrome: a header with menus,
a byline block, share buttons, inline "read more" boxes, and after the story
sidebars of teasers (headline, date, the headline again, a one-sentence
blurb that reads like story prose), section lists, comments and footers.
This script builds such pages from the stories in ``stories.jsonl`` (written
for this project) and the phrase bank in ``chrome.json``, with the teaser
blurbs taken from *other* stories' one-sentence summaries, and labels every
line. The layout, separators and the order of blocks are drawn at random
(seeded), so that the model learns the form and not one template.

Some pages carry a story with no site around it (a headline and the body,
or only its lead), and some are news briefs: one of our short items
(``items.jsonl``, a headline and a paragraph or two), alone or inside a
site's chrome. A page that is only a headline and a short paragraph is a
story, though the same two lines in a sidebar are a teaser.

The same is done for our pages in other languages (``corpus/languages/``,
see :mod:`training.languages`), each page also laid out as HTML
(:mod:`training.markup`), some kept apart to test on.

Run ``python -m training.compose`` to rewrite ``training/corpus/pages.jsonl``,
``multilingual.jsonl`` and ``multilingual-test.jsonl``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from .markup import labelled_record, page_html

CORPUS = Path(__file__).parent / "corpus"
PAGES_PER_STORY = 2
# Stories are dealt into pools; a page's teasers come from its own pool only,
# and the pool is the page's "site" for grouped splits. So no sentence seen
# in training (as story or as teaser) reappears in a validation fold.
POOLS = 5
# Share of the short news items that also become brief pages, and of those
# the share shown with no site around them.
BRIEF_SHARE, BARE_BRIEF_SHARE = 0.3, 0.7

STORY, CHROME = "story", "chrome"

# Our pages in other languages: the files they are made from, pages per story,
# and what is kept apart from training (whole languages, and one pool of each).
LANGUAGES = CORPUS / "languages"
MULTILINGUAL_PAGES_PER_STORY = 3
HELD_OUT_LANGUAGES = ("hi", "pl")
# A language's stories are dealt into pools in turn (by id); pool 0's pages are kept apart.
LANGUAGE_POOLS = 4


# The fixed words of a page's layout in English; a language file gives its own ("phrases").
ENGLISH_PHRASES = {
    "skip": ["Skip to content", "Skip to main content", "Menu", "Search"],
    "home": ["Home"],
    "read_more": ["Read more:", "Also read:", "READ MORE", "Related:", "See also:"],
    "advertisement": ["Advertisement"],
    "sign_up": ["Sign up", "Subscribe"],
    "tags": ["Topics: ", "Tags: ", ""],
    "comments": ["Comments", "Join the conversation", "Reader comments"],
    "accept": ["Accept", "Accept all", "OK"],
}


class Block(NamedTuple):
    """Lines of a page that belong together, and what they are (for the HTML layout of the page)."""

    kind: str
    lines: list[tuple[str, str]]


class Composer:
    """Draws page parts from the phrase bank with one random generator."""

    def __init__(self, bank: dict, stories: list[dict], rng: random.Random, kin=None):
        self.bank = bank
        self.stories = stories
        self.rng = rng
        # Which stories may be teased on a story's page: by default those of its own pool.
        self.kin = kin or (lambda story, other: pool_of(story) == pool_of(other))
        self.phrases = {**ENGLISH_PHRASES, **bank.get("phrases", {})}

    def phrase(self, key: str) -> str:
        """One of the layout's words for ``key`` (drawn when there is a choice)."""
        choices = self.phrases[key]
        return choices[0] if len(choices) == 1 else self.rng.choice(choices)

    # --- small parts -----------------------------------------------------
    def name(self) -> str:
        return self.rng.choice(self.bank["names"])

    def fill(self, template: str, site: str) -> str:
        first = self.name()
        handle = re.sub(r"\W", "", first.lower())[:12]
        return template.format(
            name=first,
            name2=self.name(),
            agency=self.rng.choice(self.bank["agencies"]),
            site=site,
            handle=handle,
            email=f"{handle}@example.com",
            city=self.rng.choice(["Nairobi", "Lima", "Jakarta", "Istanbul", "Delhi", "Bogota", "Kyiv", "Dakar"]),
            date=self.date(),
        )

    def date(self) -> str:
        moment = datetime(2004, 1, 1) + timedelta(minutes=self.rng.randrange(0, 21 * 365 * 24 * 60))
        pattern = self.rng.choice(self.bank["date_formats"])
        if "months" not in self.bank:  # English: strftime patterns
            return moment.strftime(pattern).replace("  ", " ").strip()
        return pattern.format(
            day=moment.day,
            month=self.bank["months"][moment.month - 1],
            mm=f"{moment.month:02d}",
            year=moment.year,
            hour=f"{moment.hour:02d}",
            minute=f"{moment.minute:02d}",
            weekday=self.bank["weekdays"][moment.weekday()],
        )

    def other_stories(self, story: dict, k: int) -> list[dict]:
        pool = [s for s in self.stories if s["id"] != story["id"] and self.kin(story, s)]
        return self.rng.sample(pool, min(k, len(pool)))

    def shout_first_word(self, text: str) -> str:
        """Print the first word in capitals, as some sites style a lead."""
        head, _, rest = text.partition(" ")
        return f"{head.upper()} {rest}" if rest else text

    # --- blocks ----------------------------------------------------------
    def header(self, site: dict) -> list[tuple[str, str]]:
        rng = self.rng
        lines = []
        if rng.random() < 0.3:
            lines.append(self.phrase("skip"))
        lines.append(site["name"])
        if rng.random() < 0.5:
            lines.append(site["tagline"])
        sections = rng.sample(self.bank["sections"], rng.randint(4, 18))
        style = rng.random()
        if style < 0.5:
            lines.extend(sections)
        else:
            joiner = rng.choice([" | ", " \u2022 ", "  ", " / "])
            lines.append(joiner.join(sections))
        lines.extend(rng.sample(self.bank["utility"], rng.randint(0, 4)))
        return [(line, CHROME) for line in lines]

    def breadcrumb(self) -> list[tuple[str, str]]:
        parts = [self.phrase("home"), *self.rng.sample(self.bank["sections"], self.rng.randint(1, 2))]
        return [(self.rng.choice([" > ", " \u203a ", " / ", " \u00bb "]).join(parts), CHROME)]

    def article_head(self, story: dict, site: dict) -> list[tuple[str, str]]:
        rng = self.rng
        lines = []
        if rng.random() < 0.5:
            lines.append(rng.choice(self.bank["sections"]))
        lines.append(story["title"])
        if rng.random() < 0.8:
            lines.append(self.fill(rng.choice(self.bank["bylines"]), site["name"]))
        if rng.random() < 0.8:
            lines.append(self.date())
        if rng.random() < 0.5:
            lines.extend(rng.sample([u for u in self.bank["utility"] if len(u) < 30], rng.randint(1, 4)))
        if rng.random() < 0.4:
            lines.append(self.fill(rng.choice(self.bank["photo_credits"]), site["name"]))
        return [(line, CHROME) for line in lines]

    def body(self, story: dict) -> list[Block]:
        """The story's paragraphs, with chrome boxes slipped in between some."""
        rng = self.rng
        paragraphs = list(story["body"])
        if rng.random() < 0.15:
            paragraphs[0] = self.shout_first_word(paragraphs[0])
        if rng.random() < 0.3:
            # Wire stories often end on a one-sentence paragraph.
            head, _, last = paragraphs[-1].rstrip().rpartition(". ")
            if head and len(last.split()) >= 5:
                paragraphs[-1:] = [head + ".", last]
        if rng.random() < 0.35:
            agency = rng.choice(self.bank["agencies"])
            mark = rng.choice(["\u2014", " \u2014 ", "-", " (", "\u2014"])
            tail = f"{agency})" if mark == " (" else agency
            paragraphs[-1] = paragraphs[-1].rstrip() + mark + tail
        blocks: list[Block] = []
        for i, paragraph in enumerate(paragraphs):
            blocks.append(Block("paragraph", [(paragraph, STORY)]))
            if 0 < i < len(paragraphs) - 1 and rng.random() < 0.12:
                blocks.append(Block("box", self.inline_box(story)))
        return blocks

    def inline_box(self, story: dict) -> list[tuple[str, str]]:
        rng = self.rng
        kind = rng.random()
        if kind < 0.3:
            return [(self.phrase("advertisement"), CHROME)]
        if kind < 0.6:
            found = self.other_stories(story, 1)
            if not found:  # a story alone in its pool has no other to point to
                return [(self.phrase("advertisement"), CHROME)]
            other = found[0]
            label = self.phrase("read_more")
            return [(f"{label} {other['title']}", CHROME)]
        if kind < 0.8:
            return [(rng.choice(self.bank["newsletter"]), CHROME), (self.phrase("sign_up"), CHROME)]
        others = self.other_stories(story, rng.randint(2, 3))
        return [(rng.choice(self.bank["section_headings"]), CHROME)] + [(o["title"], CHROME) for o in others]

    def after_story(self, story: dict, site: dict) -> list[Block]:
        rng = self.rng
        parts: list[Block] = []
        if rng.random() < 0.3:
            topics = rng.sample(self.bank["sections"], rng.randint(2, 4))
            label = self.phrase("tags")
            label = label if not label or label.endswith(" ") else label + " "
            parts.append(Block("tags", [(label + self.phrases.get("list_separator", [", "])[0].join(topics), CHROME)]))
        if rng.random() < 0.4:
            parts.append(Block("share", [(u, CHROME) for u in rng.sample(self.bank["utility"], rng.randint(1, 4))]))
        if rng.random() < 0.25:
            parts.append(Block("bio", [(self.fill(rng.choice(self.bank["author_bios"]), site["name"]), CHROME)]))
        if rng.random() < 0.25:
            parts.append(Block("promo", [(rng.choice(self.bank["promo"]), CHROME)]))
        if rng.random() < 0.2:
            parts.append(Block("comments", self.comments()))
        return parts

    def comments(self) -> list[tuple[str, str]]:
        rng = self.rng
        lines = [(self.phrase("comments"), CHROME)]
        for _ in range(rng.randint(1, 4)):
            lines.append((self.name(), CHROME))
            lines.append((rng.choice(self.bank["comment_lines"]["meta"]), CHROME))
            lines.append((rng.choice(self.bank["comment_lines"]["comments"]), CHROME))
        return lines

    def teasers(self, story: dict) -> list[Block]:
        """A sidebar of teasers for other stories: the seed's hard case."""
        rng = self.rng
        blocks: list[Block] = []
        heading = rng.sample(self.bank["section_headings"] + self.bank["sections"], rng.randint(1, 2))
        blocks.append(Block("teaser_heading", [(h, CHROME) for h in heading]))
        style = rng.randrange(6)
        for other in self.other_stories(story, rng.randint(2, 7)):
            title, blurb, date = other["title"], other["dek"], self.date()
            if rng.random() < 0.25:
                words = blurb.split()
                blurb = " ".join(words[: rng.randint(8, max(9, len(words) - 3))]) + "..."
            if rng.random() < 0.1:
                blurb = self.shout_first_word(blurb)
            if style == 0:
                lines = [title, date, title, blurb]
            elif style == 1:
                lines = [title, blurb, date]
            elif style == 2:
                lines = [date, title, blurb]
            elif style == 3:
                lines = [title, blurb]
            elif style == 4:
                lines = [rng.choice(self.bank["sections"]), title, self.fill(self.plain_byline(), ""), blurb]
            else:
                lines = [title, date]
            blocks.append(Block("teaser", [(line, CHROME) for line in lines]))
        return blocks

    def plain_byline(self) -> str:
        """A byline with the author's name alone ("By {name}")."""
        if "months" not in self.bank:
            return "By {name}"
        return next(
            (b for b in self.bank["bylines"] if "{name}" in b and "{name2}" not in b and "{agency}" not in b), "{name}"
        )

    def footer(self, site: dict) -> list[Block]:
        rng = self.rng
        parts = []
        if rng.random() < 0.5:
            parts.append(
                Block("footer_links", [(s, CHROME) for s in rng.sample(self.bank["sections"], rng.randint(3, 10))])
            )
        parts.append(Block("footer", [(f, CHROME) for f in rng.sample(self.bank["footer"], rng.randint(1, 5))]))
        if rng.random() < 0.3:
            parts.append(Block("cookie", [(rng.choice(self.bank["cookie"]), CHROME), (self.phrase("accept"), CHROME)]))
        return parts

    def clean(self, story: dict) -> list[Block]:
        """A story with no site around it: its headline, then all of it or only its lead (a brief)."""
        paragraphs = story["body"] if self.rng.random() < 0.5 else story["body"][:1]
        blocks = [Block("headline", [(story["title"], CHROME)])] if self.rng.random() < 0.8 else []
        return blocks + [Block("paragraph", [(paragraph, STORY)]) for paragraph in paragraphs]

    def brief(self, item: dict, number: int) -> dict:
        """A page of one short news item: bare, or inside a site like any story."""
        story = {"id": item["id"], "title": item["title"], "body": [item["description"]], "topics": item["topics"]}
        if self.rng.random() < BARE_BRIEF_SHARE:
            blocks = [Block("headline", [(story["title"], CHROME)]), Block("paragraph", [(item["description"], STORY)])]
            return render(blocks, story, self.rng.choice(self.bank["sites"]), number, self.rng)
        return self.page(story, number)

    # --- the page ------------------------------------------------------------
    def page(self, story: dict, number: int) -> dict:
        """A page of the story, laid out as scraped text (its blocks kept for an HTML layout)."""
        rng = self.rng
        site = rng.choice(self.bank["sites"])
        blocks: list[Block] = []
        if rng.random() < 0.12:
            return render(self.clean(story), story, site, number, rng)
        bare = rng.random() < 0.25  # a scrape of the article area only, like the seed page
        if not bare:
            blocks.append(Block("header", self.header(site)))
            if rng.random() < 0.4:
                blocks.append(Block("breadcrumb", self.breadcrumb()))
            if rng.random() < 0.2:
                blocks.extend(self.teasers(story))
            blocks.append(Block("article_head", self.article_head(story, site)))
        blocks.extend(self.body(story))
        blocks.extend(self.after_story(story, site))
        for _ in range(rng.choice([1, 1, 1, 2])):
            blocks.extend(self.teasers(story))
        if not bare:
            blocks.extend(self.footer(site))
        return render(blocks, story, site, number, rng)


def pool_of(story: dict) -> int:
    """The pool a story is dealt into: stable, from its id."""
    return int(hashlib.sha256(story["id"].encode("utf-8")).hexdigest(), 16) % POOLS


def render(blocks: list[Block], story: dict, site: dict, number: int, rng: random.Random) -> dict:
    """Lay the blocks out as scraped text and record each line's offsets (the blocks stay in ``blocks``)."""
    within = rng.choice(["\n", "\n", "\n\n"])  # between lines of a block
    between = rng.choice(["\n\n", "\n\n", "\n", "\n\n\n"])  # between blocks
    text = ""
    segments = []
    for block in blocks:
        for i, (line, label) in enumerate(block.lines):
            if text:
                text += within if i else between
            segments.append({"start": len(text), "end": len(text) + len(line), "label": label})
            text += line
    text += "\n"
    story_text = "\n\n".join(text[s["start"] : s["end"]] for s in segments if s["label"] == STORY)
    return {
        "id": f"{story['id']}-p{number}",
        "site": f"corpus-pool{pool_of(story)}",
        "text": text,
        "segments": segments,
        "topics": story["topics"],
        "story": story_text,
        "blocks": blocks,  # for the page's HTML layout; not written
        "site_name": site["name"],
    }


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def english_pages(seed: int) -> list[dict]:
    """Our English pages: two of each story, and briefs from some of the short items."""
    stories = read_jsonl(CORPUS / "stories.jsonl")
    bank = json.loads((CORPUS / "chrome.json").read_text(encoding="utf-8"))
    rng = random.Random(seed)
    composer = Composer(bank, stories, rng)
    pages = [composer.page(story, number) for story in stories for number in range(PAGES_PER_STORY)]
    pages += [composer.brief(item, 0) for item in read_jsonl(CORPUS / "items.jsonl") if rng.random() < BRIEF_SHARE]
    for page in pages:
        del page["blocks"], page["site_name"]
    return pages


def multilingual_pages(seed: int) -> tuple[list[dict], list[dict]]:
    """Our pages in other languages: (to train on, as text; kept apart to test on, as text and as HTML).

    Of each language, the pages of one pool of stories (every
    :data:`LANGUAGE_POOLS`-th story, from the first, by id) are kept apart, and of the :data:`HELD_OUT_LANGUAGES` every page: the
    model is measured on a language it never saw.
    """
    train: list[dict] = []
    test: list[dict] = []
    for path in sorted(LANGUAGES.glob("*.json")):
        bank = json.loads(path.read_text(encoding="utf-8"))
        code, stories = bank["language"], bank["stories"]
        pools = {
            story["id"]: number % LANGUAGE_POOLS for number, story in enumerate(sorted(stories, key=lambda s: s["id"]))
        }
        apart = {key: code in HELD_OUT_LANGUAGES or pool == 0 for key, pool in pools.items()}

        def kin(story: dict, other: dict, apart: dict = apart) -> bool:
            """Stories kept apart are teased among themselves; the rest among the rest."""
            return apart[story["id"]] == apart[other["id"]]

        composer = Composer(bank, stories, random.Random(f"{seed}-{code}"), kin)
        layout = random.Random(f"{seed}-{code}-html")
        titles = {story["title"] for story in stories}
        for story in stories:
            for number in range(MULTILINGUAL_PAGES_PER_STORY):
                page = composer.page(story, number)
                blocks, site_name = page.pop("blocks"), page.pop("site_name")
                page = {**page, "site": f"corpus-{code}-pool{pools[story['id']]}", "language": code}
                markup = page_html(blocks, story, {"name": site_name}, titles, code, bank["direction"], layout)
                rendered = labelled_record(markup, blocks)
                as_html = {
                    **{k: page[k] for k in ("site", "language")},
                    "id": page["id"] + "-html",
                    "html": markup,
                    "segments": rendered["segments"],
                    "topics": page["topics"],
                    "story": page["story"],
                }
                if apart[story["id"]]:
                    test.extend([page, as_html])
                else:  # synthetic markup teaches the HTML classifier habits real sites lack: text only
                    train.append(page)
    return train, test


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--out", type=Path, default=CORPUS, help="The folder to write the pages into.")
    args = parser.parse_args(argv)
    pages = english_pages(args.seed)
    write_jsonl(args.out / "pages.jsonl", pages)
    train, test = multilingual_pages(args.seed)
    write_jsonl(args.out / "multilingual.jsonl", train)
    write_jsonl(args.out / "multilingual-test.jsonl", test)
    print(
        f"wrote {len(pages)} English pages, {len(train)} pages in other languages to train on and {len(test)} to "
        f"test on (text and HTML) to {args.out}"
    )


if __name__ == "__main__":
    main()
