"""Labelled data: pages and news items with gold labels, as training and evaluation read them.

``documents`` reads JSONL training data; ``webpages`` adapts corpora of HTML
pages with gold main text; ``alignment`` labels a page's lines from gold
text; ``sites`` is the key every split groups by, and the held-out split.
"""
