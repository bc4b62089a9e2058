"""Three local brokers form one cluster and one controller quorum; the pipeline's topics get one
replica per broker (three) and need two in sync; replication follows the cluster's size."""

from __future__ import annotations

import re
import subprocess
import time
import uuid

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from ticket_devstack import kafka_service
from ticket_etl import config, topology
from ticket_etl.config import INCLUDE_DIR, KAFKA_JARS_DIR
from ticket_etl.jvm import java_executable
from ticket_etl.kafka_io import create_topic

METADATA_DEADLINE_S = 30.0


def _replicas_and_min_insync(bootstrap: str, topic: str) -> tuple[set[int], str]:
    """Replicas per partition and min.insync.replicas of ``topic``, once the broker asked knows it
    (each broker learns a new topic from the controller a moment after it is created)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resource = ConfigResource(ResourceType.TOPIC, topic)
    deadline = time.monotonic() + METADATA_DEADLINE_S
    while True:
        try:
            partitions = admin.list_topics(topic, timeout=30).topics[topic].partitions
            configs = admin.describe_configs([resource])[resource].result(30)
            if partitions:
                return {len(p.replicas) for p in partitions.values()}, configs["min.insync.replicas"].value
        except KafkaException as error:
            if error.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise
        assert time.monotonic() < deadline, f"{topic} unknown to the brokers after {METADATA_DEADLINE_S}s"
        time.sleep(0.2)


@pytest.mark.parametrize(("brokers", "replication", "min_insync"), [(1, 1, "1"), (3, 3, "2"), (5, 3, "2")])
def test_replication_follows_the_size_of_the_cluster(brokers: int, replication: int, min_insync: str) -> None:
    specs = topology.topic_specs(brokers)
    assert {spec.replication_factor for spec in specs} == {replication}
    assert {spec.config["min.insync.replicas"] for spec in specs} == {min_insync}


def test_the_default_size_is_kafka_brokers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BROKERS", "3")
    assert {spec.replication_factor for spec in topology.topic_specs()} == {3}
    monkeypatch.setenv("KAFKA_BROKERS", "none")
    with pytest.raises(config.SettingError, match=r"^KAFKA_BROKERS='none'"):
        topology.topic_specs()


@pytest.mark.integration
def test_three_brokers_are_the_three_voters_of_one_quorum(kafka_cluster: kafka_service.KafkaCluster) -> None:
    assert kafka_service.cluster_size(kafka_cluster.bootstrap) == 3
    quorum_tool = [
        str(java_executable()),
        "-cp",
        str(KAFKA_JARS_DIR / "*"),
        "org.apache.kafka.tools.MetadataQuorumCommand",
    ]
    result = subprocess.run(
        [*quorum_tool, "--bootstrap-controller", kafka_cluster.brokers[0].controller, "describe", "--status"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    voters = re.search(r"^CurrentVoters:\s+(.*)$", result.stdout, re.MULTILINE).group(1)
    assert sorted(map(int, re.findall(r'"id": (\d+)', voters))) == [1, 2, 3]


@pytest.mark.integration
def test_the_pipelines_topics_get_three_replicas_and_two_in_sync(
    kafka_cluster: kafka_service.KafkaCluster,
) -> None:
    """(The cluster is shared by the session: another test may have created some of them already.)"""
    names = [spec.name for spec in topology.topic_specs(3)]
    assert set(kafka_service.create_topics(kafka_cluster)) <= set(names)
    for name in names:
        assert _replicas_and_min_insync(kafka_cluster.bootstrap, name) == ({3}, "2"), name
    assert kafka_service.create_topics(kafka_cluster) == []  # present: only their configuration is set


@pytest.mark.integration
def test_any_topic_is_replicated_as_the_brokers_say(kafka_cluster: kafka_service.KafkaCluster) -> None:
    """The brokers' own defaults (include/kafka/server.properties.template) follow the cluster too:
    a topic created without replication settings, and Kafka's internal topics, get 3 replicas."""
    name = f"test_{uuid.uuid4().hex[:10]}"
    create_topic(kafka_cluster.bootstrap, name)
    assert _replicas_and_min_insync(kafka_cluster.bootstrap, name) == ({3}, "2")
    rendered = kafka_cluster.brokers[1].config_file.read_text()
    assert "offsets.topic.replication.factor=3" in rendered and "node.id=2" in rendered
    assert "${" not in rendered


def test_the_shell_names_every_broker_of_three(tmp_path) -> None:
    """KAFKA_BROKERS=3 with KAFKA_BROKER unset: include/settings.sh names three brokers from the
    default's port, two apart; the stack puts each controller on its broker's port + 1."""
    script = f"source {INCLUDE_DIR / 'settings.sh'}; echo $KAFKA_BROKER"
    env = {"PATH": "/usr/bin:/bin", "KAFKA_BROKERS": "3"}
    derived = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True)
    host_port = config.defaults()["KAFKA_BROKER"].default
    host, port = host_port.rsplit(":", 1)
    assert derived.stdout.strip().split(",") == [f"{host}:{int(port) + step}" for step in (0, 2, 4)]


@pytest.mark.parametrize(
    ("brokers", "bootstrap", "message"),
    [
        ("3", "localhost:19092", "KAFKA_BROKER=localhost:19092 names 1 broker(s) but KAFKA_BROKERS=3"),
        ("2", "localhost:19092,localhost:19094", "KAFKA_BROKERS=2: the local stack runs 1 or 3 brokers"),
        ("3", "localhost:1,localhost:2,localhost:5", "choose ports at least two apart"),
        ("1", "localhost:19092,kafka.example.com:9092", "mixes brokers on this machine and elsewhere"),
    ],
)
def test_a_cluster_the_stack_cannot_run_is_named(
    monkeypatch: pytest.MonkeyPatch, brokers: str, bootstrap: str, message: str
) -> None:
    monkeypatch.setenv("KAFKA_BROKERS", brokers)
    monkeypatch.setenv("KAFKA_BROKER", bootstrap)
    with pytest.raises(kafka_service.KafkaServiceError, match=re.escape(message)):
        kafka_service.default_cluster()
