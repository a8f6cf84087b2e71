"""Inputs: finding the documents to label, reading them, decoding their bytes.

``discovery`` walks the paths given (files, directories, ``-``) in order;
``readers`` reads one file or stream into documents; ``objects`` makes a
document of a JSON object or a Python value; ``decoding`` turns bytes into
text; ``formats`` says how a path is read.
"""
