"""Runs: labelling many documents, in order, here, in worker processes or on a Dask cluster.

``batch`` streams inputs into records (``label`` and ``filter``); ``tasks``
is what runs on a chunk; ``engines`` picks where it runs (``ordered`` is
what every engine shares, ``workers`` local processes, ``cluster`` Dask);
``resume`` finishes an interrupted run.
"""
