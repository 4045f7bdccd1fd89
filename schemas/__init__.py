"""regstream's data contract: Avro schemas, codecs, topic catalog and the evolution check.

The ``.avsc`` files in ``schemas/avro`` are the source of truth. Modules, one job each:

- ``contract``  load, resolve and fingerprint the schemas; event types and partition keys
- ``codec``     Avro single-object encoding (default wire format), ``codec_for`` factory
- ``confluent`` Confluent wire format against a Schema-Registry-compatible HTTP registry
- ``body``      schemaless body validation/encoding and bounded decoding (shared by both)
- ``limits``    decode limits and the static schema checks that make them hold
- ``scan``      allocation-free pre-scan enforcing the collection item cap
- ``compat``    BACKWARD compatibility rule, ``run_check`` for ``regstream schemas check``
- ``catalog``   every topic name and spec
- ``registry``  the minimal registry HTTP client
- ``errors``    the error tree (DLQ reasons, ``retriable``)

This package imports neither ``streams`` nor ``gateway``.
"""
