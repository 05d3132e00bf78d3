"""Confluent's own Python serializer and deserializer (confluent-kafka[avro,schemaregistry]), driven by the tests,
so the wire contract is checked by code that is not streamserve's.

  confluent_client.py produce BROKERS REGISTRY TOPIC   stdin: one JSON line per schema version,
      {"schema": "<avsc text>", "records": [{"key": "...", "value": {...}}]}; prints {"schemaId": N, "count": n} per line
  confluent_client.py consume BROKERS REGISTRY TOPIC COUNT TIMEOUT_S
      prints one JSON line per message: {"key", "partition", "offset", "schemaId", "value"} (read_committed)
"""
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def produce(brokers, registry, topic):
    client = SchemaRegistryClient({"url": registry})
    producer = Producer({"bootstrap.servers": brokers, "enable.idempotence": True})
    ctx = SerializationContext(topic, MessageField.VALUE)
    for line in sys.stdin:
        if not line.strip():
            continue
        batch = json.loads(line)
        serializer = AvroSerializer(client, batch["schema"], conf={"auto.register.schemas": True})
        schema_id = None
        for record in batch["records"]:
            value = serializer(record["value"], ctx)
            schema_id = int.from_bytes(value[1:5], "big")
            producer.produce(topic, key=record["key"].encode(), value=value)
            producer.poll(0)
        remaining = producer.flush(30)
        if remaining:
            raise SystemExit(f"{remaining} messages not delivered")
        print(json.dumps({"schemaId": schema_id, "count": len(batch["records"])}), flush=True)


def consume(brokers, registry, topic, count, timeout_s):
    client = SchemaRegistryClient({"url": registry})
    deserializer = AvroDeserializer(client)
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": f"confluent-python-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    })
    consumer.subscribe([topic])
    ctx = SerializationContext(topic, MessageField.VALUE)
    seen = 0
    deadline = time.time() + timeout_s
    try:
        while seen < count and time.time() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise SystemExit(f"consume error: {msg.error()}")
            raw = msg.value()
            value = deserializer(raw, ctx)
            print(json.dumps({
                "key": msg.key().decode() if msg.key() is not None else None,
                "partition": msg.partition(),
                "offset": msg.offset(),
                "schemaId": int.from_bytes(raw[1:5], "big"),
                "value": value,
            }, default=lambda o: o.isoformat() if hasattr(o, "isoformat") else str(o)), flush=True)
            seen += 1
    finally:
        consumer.close()


if __name__ == "__main__":
    command, brokers, registry, topic = sys.argv[1:5]
    if command == "produce":
        produce(brokers, registry, topic)
    elif command == "consume":
        consume(brokers, registry, topic, int(sys.argv[5]), float(sys.argv[6]))
    else:
        raise SystemExit(f"unknown command {command}")
