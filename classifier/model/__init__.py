"""The model: classifiers, the context pass, topics, and the bundle that holds them.

``segments`` is the story-or-chrome classifier (first pass over line and
word features, ``context`` for the second pass); ``topics`` the topic
classifier; ``labelling`` takes a chunk of documents through them;
``model`` is what a user loads and calls; ``bundle`` writes and checks it on disk;
``imports`` brings in scikit-learn for them (without scipy.stats).
"""

from .imports import import_scikit_learn

# Before any module here imports scikit-learn: import it without scipy.stats (see imports.py).
import_scikit_learn()
