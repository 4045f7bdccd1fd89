"""The audit trail, read side: chain verification, and the access audit of who read what.

- ``access``      ``AccessAuditEntry`` records and ``record_access`` (used by the CLI and gateway)
- ``continuity``  offset gaps per partition and their cause
- ``verify``      ``regstream audit verify``: hash chains, continuity, bad records
- ``sessions``    ``regstream audit sessions``: list access-audit entries with filters
"""
