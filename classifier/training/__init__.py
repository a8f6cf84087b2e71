"""Training: labelled documents in, a validated model bundle with its card out.

``fit`` trains and validates the segment classifiers and writes the bundle;
``topics`` trains the topic stage and chooses its thresholds; ``sources``
reads and fingerprints what a model is trained from.
"""
