"""Sites: the key every split groups by, and the fixed held-out split.

Pages of one site share templates, so a model must be measured on sites it
never saw: every split in training and evaluation groups pages by
:func:`site_of`, and a site's place in the held-out split is a hash of its
name, fixed before any training.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

# Fraction of sites held out from training for evaluation; the split is a
# hash of the site, fixed before any training, so it never moves.
HELD_OUT_FRACTION = 0.25

# Second-level labels under which a country code's sites sit (news.co.uk).
_GENERIC_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "or", "ne", "go"}


def site_of(url: str) -> str:
    """The site a URL belongs to: its registered domain, lower-cased.

    ``https://www.news.example.co.uk/a`` -> ``example.co.uk``. Pages of one
    site share templates, so every split groups by this key.
    """
    host = (urlsplit(url).hostname or url).lower().strip(".")
    parts = host.split(".")
    if len(parts) >= 3 and len(parts[-1]) == 2 and parts[-2] in _GENERIC_SECOND_LEVEL:
        return ".".join(parts[-3:])
    return ".".join(parts[-2:])


def site_bucket(site: str) -> float:
    """A site's fixed place in [0, 1): the first 4 bytes of its sha256."""
    digest = hashlib.sha256(site.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def is_held_out(site: str, fraction: float = HELD_OUT_FRACTION) -> bool:
    """Whether a site belongs to the fixed held-out evaluation split."""
    return site_bucket(site) < fraction
