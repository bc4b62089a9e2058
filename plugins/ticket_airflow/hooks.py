"""Airflow hooks of the pipeline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.apache.kafka.hooks.base import KafkaBaseHook
from airflow.providers.apache.kafka.hooks.produce import KafkaProducerHook

from ticket_demo.producer import DELIVERY_TIMEOUT_MS, merged_settings

if TYPE_CHECKING:
    from confluent_kafka import Producer


class TicketProducerHook(KafkaProducerHook):
    """``KafkaProducerHook`` whose Producer always has the ticket producer's safety settings.

    The provider builds the Producer from the connection's extra only (no idempotence, no
    ``acks=all``); this hook overrides ``_get_client``, the provider's own extension point, to
    merge :func:`ticket_demo.producer.merged_settings` into that config: a connection can tune
    batching but never turn off idempotence or ``acks=all``.
    """

    def __init__(
        self,
        kafka_config_id: str = KafkaBaseHook.default_conn_name,
        delivery_timeout_ms: int = DELIVERY_TIMEOUT_MS,
    ):
        super().__init__(kafka_config_id=kafka_config_id)
        self.delivery_timeout_ms = delivery_timeout_ms

    def _get_client(self, config: dict[str, Any]) -> Producer:
        from confluent_kafka import Producer

        return Producer(merged_settings(config, self.delivery_timeout_ms))
