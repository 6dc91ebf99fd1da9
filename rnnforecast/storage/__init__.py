"""The home folder: the store and the model bundles inside it, the locks that keep two
processes apart, a bundle's manifest as a typed record, and reading a bundle back.
"""
