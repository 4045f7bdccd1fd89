"""The audit trail, read side: chain verification, and the access audit of who read what.

(Access entries are written by ``streams.access_log`` and ``gateway.io.audit``; the record is
``schemas.access``.)

- ``continuity``  offset gaps per partition and their cause
- ``verify``      ``regstream audit verify``: hash chains, continuity, bad records
- ``sessions``    ``regstream audit sessions``: list access-audit entries with filters
"""
