"""Kafka clients' options beyond the bootstrap servers, translated once from the settings for
the Java client (Spark's Kafka source) and kafka-python (producer, topic admin): the same
authentication for both."""

from __future__ import annotations

from lakehouse.settings import Settings


def java_client_options(settings: Settings) -> dict[str, str]:
    """Kafka Java client properties beyond the bootstrap servers (Spark passes them as `kafka.*`)."""
    if settings.kafka_security == "plaintext":
        return {}
    return {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "AWS_MSK_IAM",
        "sasl.jaas.config": "software.amazon.msk.auth.iam.IAMLoginModule required;",
        "sasl.client.callback.handler.class": "software.amazon.msk.auth.iam.IAMClientCallbackHandler",
    }


def python_client_options(settings: Settings) -> dict[str, str]:
    """kafka-python's arguments for the same authentication (producer, topic admin)."""
    if settings.kafka_security == "plaintext":
        return {}
    return {"security_protocol": "SASL_SSL", "sasl_mechanism": "AWS_MSK_IAM"}
