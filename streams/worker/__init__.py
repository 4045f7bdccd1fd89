"""The Faust worker: reads ``events.<type>``, runs :mod:`streams.pipeline` on every record, and
writes ``live.<type>``, ``events.dlq`` and the state changelogs — in one Kafka transaction per
source partition and batch when the guarantee is ``exactly_once``.

Small modules, one job each (docs/pipeline.md, "The worker", tells the story):

- :mod:`~streams.worker.config`      ``WorkerSettings`` (``REGSTREAM_WORKER_*``) and the rules
- :mod:`~streams.worker.codec`       the Faust codec at the edge: bytes → ``Decoded`` or ``Undecodable``
- :mod:`~streams.worker.inbound`     one input record as the pipeline sees it
- :mod:`~streams.worker.guard`       position guard: each offset once, in order, no hole
- :mod:`~streams.worker.partition`   one source partition's records → dispositions, events, dead letters
- :mod:`~streams.worker.output`      pending units and ``EventBatch`` encoding within Kafka's limits
- :mod:`~streams.worker.outbox`      processed batches queued and merged, one delivery at a time
- :mod:`~streams.worker.delivery`    exactly-once (transactions) and at-least-once delivery
- :mod:`~streams.worker.state`       the four changelog-backed tables and their journals
- :mod:`~streams.worker.restore`     loading a partition's tables from their changelogs
- :mod:`~streams.worker.ledger`      durable disposition counts, and reading them back
- :mod:`~streams.worker.runtime`     one ``take()`` batch, end to end
- :mod:`~streams.worker.directory`   the agent directory: ``ref.agents`` replicated into memory
- :mod:`~streams.worker.reading`     reading a whole topic without a consumer group
- :mod:`~streams.worker.metrics`     Prometheus text for the optional web port
- :mod:`~streams.worker.app`         the Faust app, its agent and signals (imports Faust)

Only :mod:`streams.cli.worker` imports :mod:`~streams.worker.app`; everything else here is plain
Python that unit tests drive with dicts and fakes.
"""
