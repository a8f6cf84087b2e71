"""Inputs: finding the documents to label, reading them, decoding their bytes.

``discovery`` walks the paths given (files, directories, ``-``) in order;
``readers`` reads one file or stream into documents; ``decoding`` turns
bytes into text; ``formats`` says how a path is read.
"""
