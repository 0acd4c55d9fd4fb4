"""AMQP checks (RabbitMQ): connect, and when a queue is named, that it exists.

Messages name the target without credentials; a URL that cannot be read is "invalid URL".
"""

from __future__ import annotations

import aiormq
import aiormq.exceptions

from golive.checks.base import Probe, one_line
from golive.plan.checks import Amqp, describe_connection
from golive.secrets import reveal


async def probe(o: Amqp) -> Probe:
    url = reveal(o.url)
    where = describe_connection(o.url, url)
    try:
        connection = await aiormq.connect(url)
    except ValueError:  # yarl and aiormq quote the part they could not read
        return Probe.failed("", f"cannot connect to AMQP at {where}: invalid URL")
    except (aiormq.exceptions.AMQPError, OSError) as exc:
        return Probe.failed("", f"cannot connect to AMQP at {where}: {one_line(exc)}")
    try:
        if o.queue is None:
            return Probe.passed("connected", f"AMQP broker at {where} accepted the connection")
        channel = await connection.channel()
        try:
            declared = await channel.queue_declare(o.queue, passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity:
            return Probe.failed("", f"queue {o.queue!r} does not exist")
        count = declared.message_count
        return Probe.passed(f"{count} messages", f"queue {o.queue!r} exists ({count} messages)")
    finally:
        await connection.close()
