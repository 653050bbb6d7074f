"""How the consumer names records, partitions and errors in its logs, metrics and
dead letters (one line each, never a traceback)."""

from __future__ import annotations

import traceback
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from pydantic import ValidationError


def validation_summary(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
        for item in error.errors()[:10]
    )


def exception_line(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(error), error)).strip()


def position_of(record: ConsumerRecord[Any, Any]) -> tuple[str, int, int]:
    return (record.topic, record.partition, record.offset)


def partition_label(partition: TopicPartition) -> str:
    return f"{partition.topic}[{partition.partition}]"
