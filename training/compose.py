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

Run ``python -m training.compose`` to rewrite ``training/corpus/pages.jsonl``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

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


@dataclass
class Draft:
    """A page being composed: blocks of (text, label) lines."""

    blocks: list[list[tuple[str, str]]] = field(default_factory=list)

    def add(self, lines: list[tuple[str, str]]) -> None:
        if lines:
            self.blocks.append(lines)


class Composer:
    """Draws page parts from the phrase bank with one random generator."""

    def __init__(self, bank: dict, stories: list[dict], rng: random.Random):
        self.bank = bank
        self.stories = stories
        self.rng = rng

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
        return moment.strftime(self.rng.choice(self.bank["date_formats"])).replace("  ", " ").strip()

    def other_stories(self, story: dict, k: int) -> list[dict]:
        pool = [s for s in self.stories if s["id"] != story["id"] and pool_of(s) == pool_of(story)]
        return self.rng.sample(pool, k)

    def shout_first_word(self, text: str) -> str:
        """Print the first word in capitals, as some sites style a lead."""
        head, _, rest = text.partition(" ")
        return f"{head.upper()} {rest}" if rest else text

    # --- blocks ----------------------------------------------------------
    def header(self, site: dict) -> list[tuple[str, str]]:
        rng = self.rng
        lines = []
        if rng.random() < 0.3:
            lines.append(rng.choice(["Skip to content", "Skip to main content", "Menu", "Search"]))
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
        parts = ["Home", *self.rng.sample(self.bank["sections"], self.rng.randint(1, 2))]
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

    def body(self, story: dict) -> list[list[tuple[str, str]]]:
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
        blocks: list[list[tuple[str, str]]] = []
        for i, paragraph in enumerate(paragraphs):
            blocks.append([(paragraph, STORY)])
            if 0 < i < len(paragraphs) - 1 and rng.random() < 0.12:
                blocks.append(self.inline_box(story))
        return blocks

    def inline_box(self, story: dict) -> list[tuple[str, str]]:
        rng = self.rng
        kind = rng.random()
        if kind < 0.3:
            return [("Advertisement", CHROME)]
        if kind < 0.6:
            other = self.other_stories(story, 1)[0]
            label = rng.choice(["Read more:", "Also read:", "READ MORE", "Related:", "See also:"])
            return [(f"{label} {other['title']}", CHROME)]
        if kind < 0.8:
            return [(rng.choice(self.bank["newsletter"]), CHROME), (rng.choice(["Sign up", "Subscribe"]), CHROME)]
        others = self.other_stories(story, rng.randint(2, 3))
        return [(rng.choice(self.bank["section_headings"]), CHROME)] + [(o["title"], CHROME) for o in others]

    def after_story(self, story: dict, site: dict) -> list[list[tuple[str, str]]]:
        rng = self.rng
        parts: list[list[tuple[str, str]]] = []
        if rng.random() < 0.3:
            topics = rng.sample(self.bank["sections"], rng.randint(2, 4))
            parts.append([(rng.choice(["Topics: ", "Tags: ", ""]) + ", ".join(topics), CHROME)])
        if rng.random() < 0.4:
            parts.append([(u, CHROME) for u in rng.sample(self.bank["utility"], rng.randint(1, 4))])
        if rng.random() < 0.25:
            parts.append([(self.fill(rng.choice(self.bank["author_bios"]), site["name"]), CHROME)])
        if rng.random() < 0.25:
            parts.append([(rng.choice(self.bank["promo"]), CHROME)])
        if rng.random() < 0.2:
            parts.append(self.comments())
        return parts

    def comments(self) -> list[tuple[str, str]]:
        rng = self.rng
        lines = [(rng.choice(["Comments", "Join the conversation", "Reader comments"]), CHROME)]
        for _ in range(rng.randint(1, 4)):
            lines.append((self.name(), CHROME))
            lines.append((rng.choice(self.bank["comment_lines"]["meta"]), CHROME))
            lines.append((rng.choice(self.bank["comment_lines"]["comments"]), CHROME))
        return lines

    def teasers(self, story: dict) -> list[list[tuple[str, str]]]:
        """A sidebar of teasers for other stories: the seed's hard case."""
        rng = self.rng
        blocks: list[list[tuple[str, str]]] = []
        heading = rng.sample(self.bank["section_headings"] + self.bank["sections"], rng.randint(1, 2))
        blocks.append([(h, CHROME) for h in heading])
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
                lines = [rng.choice(self.bank["sections"]), title, self.fill("By {name}", ""), blurb]
            else:
                lines = [title, date]
            blocks.append([(line, CHROME) for line in lines])
        return blocks

    def footer(self, site: dict) -> list[list[tuple[str, str]]]:
        rng = self.rng
        parts = []
        if rng.random() < 0.5:
            parts.append([(s, CHROME) for s in rng.sample(self.bank["sections"], rng.randint(3, 10))])
        parts.append([(f, CHROME) for f in rng.sample(self.bank["footer"], rng.randint(1, 5))])
        if rng.random() < 0.3:
            parts.append(
                [(rng.choice(self.bank["cookie"]), CHROME), (rng.choice(["Accept", "Accept all", "OK"]), CHROME)]
            )
        return parts

    def clean(self, story: dict) -> list[list[tuple[str, str]]]:
        """A story with no site around it: its headline, then all of it or only its lead (a brief)."""
        paragraphs = story["body"] if self.rng.random() < 0.5 else story["body"][:1]
        blocks = [[(story["title"], CHROME)]] if self.rng.random() < 0.8 else []
        return blocks + [[(paragraph, STORY)] for paragraph in paragraphs]

    def brief(self, item: dict, number: int) -> dict:
        """A page of one short news item: bare, or inside a site like any story."""
        story = {"id": item["id"], "title": item["title"], "body": [item["description"]], "topics": item["topics"]}
        if self.rng.random() < BARE_BRIEF_SHARE:
            blocks = [[(story["title"], CHROME)], [(item["description"], STORY)]]
            return render(blocks, story, self.rng.choice(self.bank["sites"]), number, self.rng)
        return self.page(story, number)

    # --- the page ------------------------------------------------------------
    def page(self, story: dict, number: int) -> dict:
        rng = self.rng
        site = rng.choice(self.bank["sites"])
        blocks: list[list[tuple[str, str]]] = []
        if rng.random() < 0.12:
            return render(self.clean(story), story, site, number, rng)
        bare = rng.random() < 0.25  # a scrape of the article area only, like the seed page
        if not bare:
            blocks.append(self.header(site))
            if rng.random() < 0.4:
                blocks.append(self.breadcrumb())
            if rng.random() < 0.2:
                blocks.extend(self.teasers(story))
            blocks.append(self.article_head(story, site))
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


def render(blocks, story: dict, site: dict, number: int, rng: random.Random) -> dict:
    """Lay the blocks out as scraped text and record each line's offsets."""
    within = rng.choice(["\n", "\n", "\n\n"])  # between lines of a block
    between = rng.choice(["\n\n", "\n\n", "\n", "\n\n\n"])  # between blocks
    text = ""
    segments = []
    for _b, block in enumerate(blocks):
        for i, (line, label) in enumerate(block):
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
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--out", type=Path, default=CORPUS / "pages.jsonl")
    args = parser.parse_args(argv)
    stories = [
        json.loads(line) for line in (CORPUS / "stories.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    bank = json.loads((CORPUS / "chrome.json").read_text(encoding="utf-8"))
    items = [
        json.loads(line) for line in (CORPUS / "items.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    rng = random.Random(args.seed)
    composer = Composer(bank, stories, rng)
    pages = [composer.page(story, number) for story in stories for number in range(PAGES_PER_STORY)]
    pages += [composer.brief(item, 0) for item in items if rng.random() < BRIEF_SHARE]
    with open(args.out, "w", encoding="utf-8") as out:
        for page in pages:
            out.write(json.dumps(page, ensure_ascii=False) + "\n")
    print(f"wrote {len(pages)} pages to {args.out}")


if __name__ == "__main__":
    main()
