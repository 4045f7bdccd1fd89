"""The Faust worker: reads ``events.<type>``, runs :mod:`streams.pipeline` on every record, and
writes ``live.<type>``, ``events.dlq`` and the state changelogs — in one Kafka transaction per
source partition and batch when the guarantee is ``exactly_once``.

Small modules, one job each (docs/pipeline.md, "The worker", tells the story):

- :mod:`~streams.worker.config`     ``WorkerSettings`` (``REGSTREAM_WORKER_*``) and the rules
- :mod:`~streams.worker.codec`      the Faust codec at the edge: bytes → ``Decoded`` or ``Undecodable``
- :mod:`~streams.worker.inbound`    one input record as the pipeline sees it
- :mod:`~streams.worker.partition`  one source partition's records → dispositions, batches, dead letters
- :mod:`~streams.worker.output`     records to send (EventBatch encoding and size splitting)
- :mod:`~streams.worker.state`      tables seen through the batch: writes journalled for the commit
- :mod:`~streams.worker.ledger`     durable disposition counts (a table) and reading them back
- :mod:`~streams.worker.guard`      position guard: a committed position is never processed twice
- :mod:`~streams.worker.delivery`   exactly-once (transactions) and at-least-once delivery
- :mod:`~streams.worker.runtime`    one ``take()`` batch, end to end
- :mod:`~streams.worker.directory`  the agent directory: ``ref.agents`` replicated into memory
- :mod:`~streams.worker.metrics`    Prometheus text for the optional web port
- :mod:`~streams.worker.app`        the Faust app, its tables and its agent (imports Faust)
- :mod:`~streams.worker.deadletters` reading and re-publishing ``events.dlq`` (``regstream dlq``)

Only :mod:`streams.cli.worker` imports :mod:`~streams.worker.app`; everything else here is plain
Python that unit tests drive with dicts and fakes.
"""
