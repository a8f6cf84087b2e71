"""Features: what the classifiers see of a batch of segments, and of a story.

``tokens`` holds a batch's lines as arrays (code points, character classes,
token hashes); ``pages`` where its pages and blocks start; ``shape`` the raw
counts of each line, which ``lines`` turns into dense shape and layout
features; ``lexical`` hashes each line's words; ``dom`` what the DOM says
of an HTML segment; ``topics`` the features of a story for the topic model.
"""
