"""Segmentation: a page cut into the units that get labelled.

``text`` cuts plain text into one :class:`~classifier.segment.text.Segment`
per non-empty line; ``html`` cuts an HTML page into its text blocks, each
with what the DOM says about it, laid out as text.
"""
