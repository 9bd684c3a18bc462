"""One metadata operation per module, each a class with `async def run(self, txn)`.

Ops never open, commit or retry transactions (the operator does) and
decide only from what they read in `txn`, so a retry re-runs them safely.
"""
