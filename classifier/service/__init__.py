"""The HTTP service: ``storyfilter serve`` and the app behind it.

``app`` builds the FastAPI app; ``routes`` are its endpoints, ``dependencies``
what they share (the token check), ``bodies`` reads request bodies,
``batcher`` labels concurrent requests together beside the event loop,
``errors`` answers every error as JSON, ``options`` is what is served and how.
"""
