"""Evaluation: a model scored against gold, and the report of it.

``metrics`` holds the scores (the article-body score, tag metrics,
calibration bins); ``evaluate`` labels documents with gold and scores them;
``figures`` computes what the report shows, ``plots`` draws it and
``report`` lays out the page.
"""
