"""The local broker's configuration: what makes one node transactional and three nodes safe."""

from __future__ import annotations

from pathlib import Path

from streams.broker.config import NodeSpec, server_properties


def parse(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def nodes(count: int) -> list[NodeSpec]:
    return [NodeSpec(i + 1, 9092 + i, 9192 + i, Path(f"/tmp/n{i + 1}")) for i in range(count)]


def test_single_node_runs_transactions_without_three_replicas() -> None:
    (node,) = nodes(1)
    props = parse(server_properties(node, [node]))
    assert props["process.roles"] == "broker,controller"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["listeners"].startswith("PLAINTEXT://127.0.0.1:9092")


def test_three_nodes_survive_one_loss_without_unclean_election() -> None:
    cluster = nodes(3)
    props = parse(server_properties(cluster[1], cluster))
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194"
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["unclean.leader.election.enable"] == "false"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9093"


def test_cluster_ids_never_look_like_an_option() -> None:
    from streams.broker.cluster import new_cluster_id

    ids = [new_cluster_id() for _ in range(5_000)]
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(i) == 22 for i in ids)
