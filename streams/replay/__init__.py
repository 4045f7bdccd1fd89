"""Analyst replay: export any stretch of any topic to JSONL, CSV or Avro, resumably.

Modules, one job each:

- ``ranges``      ``--from``/``--to`` bounds and the per-partition offset plan they resolve to
- ``source``      reading a plan from Kafka: committed records, fixed order, retention losses
- ``rows``        Kafka records → export rows (one per event, with its position); bad records
- ``filters``     ``--where`` field conditions on rows
- ``layout``      CSV columns and the Avro row schema of an event type (flattening rules)
- ``writers``     JSONL, CSV and Avro container writers
- ``checkpoint``  the checkpoint file and the write order that makes a resume byte-exact
- ``progress``    the progress bar (offsets, rate, ETA)
- ``export``      the engine behind ``regstream replay``
"""
