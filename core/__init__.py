"""The neutral core every layer may import: failure classes, the connection type, money.

Nothing here imports another package of the project, so workers/, store/ and the domain packages
can all depend on it without an upward import.
"""
