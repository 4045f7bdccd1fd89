"""Pure stream-processing logic of the regstream pipeline (no Kafka, no Faust).

The Faust app decodes each input record, calls :func:`process_record`, sends dead letters with
:func:`dead_letter_headers`, counts every disposition, and batches passed events per source
partition (:mod:`streams.worker.output`). Stages are described in docs/pipeline.md.
"""

from streams.pipeline.coordinates import Coordinates
from streams.pipeline.dedupe import Deduper
from streams.pipeline.hashchain import ChainVerifier, HashChain
from streams.pipeline.policy import (
    Disposition,
    DispositionCounter,
    Outcome,
    dead_letter_headers,
    disposition_for_error,
    parse_dead_letter_headers,
)
from streams.pipeline.process import PipelineConfig, Result, Stores, process_record
from streams.pipeline.rules import StreamRules

__all__ = [
    "ChainVerifier",
    "Coordinates",
    "Deduper",
    "Disposition",
    "DispositionCounter",
    "HashChain",
    "Outcome",
    "PipelineConfig",
    "Result",
    "Stores",
    "StreamRules",
    "dead_letter_headers",
    "disposition_for_error",
    "parse_dead_letter_headers",
    "process_record",
]
