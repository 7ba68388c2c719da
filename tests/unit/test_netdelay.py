"""Unit tests of orka.testing.netdelay's nfnetlink_queue messages: what it sends, and what it reads back.

The layouts are the kernel's (include/uapi/linux/netfilter/nfnetlink_queue.h):
a netlink header in host order, then nfgenmsg (family, version, queue number in
network order), then attributes padded to 4 bytes. That the delay works on a
real kernel is checked by tests/integration/test_faults.py (a TCP connect to a
node takes the added delay).
"""

from __future__ import annotations

import socket
import struct

from orka.testing.netdelay import (
    NFQA_CFG_CMD,
    NFQA_CFG_FLAGS,
    NFQA_CFG_MASK,
    NFQA_CFG_PARAMS,
    NFQA_CFG_QUEUE_MAXLEN,
    NFQA_PACKET_HDR,
    NFQA_VERDICT_HDR,
    NFQNL_CFG_CMD_BIND,
    NFQNL_COPY_META,
    NFQNL_MSG_CONFIG,
    NFQNL_MSG_PACKET,
    NFQNL_MSG_VERDICT_BATCH,
    NLM_F_ACK,
    NLM_F_REQUEST,
    NLMSG_ERROR,
    QUEUE_MAXLEN,
    Reply,
    accept_up_to,
    config_messages,
    parse_messages,
)

QUEUE = 4242


def header(message: bytes) -> tuple[int, int, int, int, int]:
    length, kind, flags, seq, port = struct.unpack_from("=IHHII", message)
    return length, kind, flags, seq, port


def attributes(message: bytes) -> list[tuple[int, bytes]]:
    """(type, payload) of each attribute after the netlink header and nfgenmsg."""
    found = []
    offset = 20
    while offset < len(message):
        length, kind = struct.unpack_from("=HH", message, offset)
        found.append((kind, message[offset + 4 : offset + length]))
        offset += (length + 3) & ~3
    return found


def packet_message(packet_id: int, seq: int = 0) -> bytes:
    """A queued packet as the kernel sends it: the packet header attribute and one more after it."""
    packet_hdr = struct.pack("!IHB", packet_id, 0x0800, 3)  # id, hw protocol (IPv4), hook (LOCAL_OUT)
    attrs = struct.pack("=HH", 4 + len(packet_hdr), NFQA_PACKET_HDR) + packet_hdr + b"\0"  # 7 bytes, padded to 8
    attrs += struct.pack("=HH", 8, 9) + struct.pack("!I", 1)  # NFQA_IFINDEX_OUTDEV: ignored
    body = struct.pack("=BB", socket.AF_INET, 0) + struct.pack("!H", QUEUE) + attrs
    return struct.pack("=IHHII", 16 + len(body), (3 << 8) | NFQNL_MSG_PACKET, 0, seq, 0) + body


def error_message(code: int) -> bytes:
    """An ack (code 0) or an error (-errno), followed by the header of the request it answers."""
    body = struct.pack("=i", code) + struct.pack("=IHHII", 16, 0, 0, 1, 0)
    return struct.pack("=IHHII", 16 + len(body), NLMSG_ERROR, 0, 1, 0) + body


def test_config_binds_the_queue_copies_metadata_only_and_fails_open() -> None:
    messages = config_messages(QUEUE)

    assert [attributes(m)[0][0] for m in messages] == [
        NFQA_CFG_CMD,
        NFQA_CFG_PARAMS,
        NFQA_CFG_QUEUE_MAXLEN,
        NFQA_CFG_MASK,
    ]
    bind, params, maxlen, flags = (attributes(m) for m in messages)
    assert bind[0][1] == struct.pack("!BxH", NFQNL_CFG_CMD_BIND, 0)
    assert params[0][1] == struct.pack("!IB", 0, NFQNL_COPY_META)  # no payload is copied to us
    assert maxlen[0][1] == struct.pack("!I", QUEUE_MAXLEN)
    assert [kind for kind, _ in flags] == [NFQA_CFG_MASK, NFQA_CFG_FLAGS]
    assert flags[1][1] == struct.pack("!I", 0x1 | 0x4)  # FAIL_OPEN | GSO


def test_config_messages_are_requests_that_ask_for_an_ack_with_the_queue_in_network_order() -> None:
    for seq, message in enumerate(config_messages(QUEUE), 1):
        length, kind, flags, sequence, _ = header(message)
        assert length == len(message)
        assert kind == (3 << 8) | NFQNL_MSG_CONFIG
        assert flags == NLM_F_REQUEST | NLM_F_ACK
        assert sequence == seq
        assert message[16:20] == struct.pack("=BB", socket.AF_UNSPEC, 0) + struct.pack("!H", QUEUE)
        assert len(message) % 4 == 0


def test_accept_up_to_is_one_batch_verdict_accepting_every_packet_up_to_the_id() -> None:
    message = accept_up_to(QUEUE, 77)

    length, kind, flags, _, _ = header(message)
    assert (length, kind, flags) == (len(message), (3 << 8) | NFQNL_MSG_VERDICT_BATCH, NLM_F_REQUEST)
    assert attributes(message) == [(NFQA_VERDICT_HDR, struct.pack("!II", 1, 77))]  # NF_ACCEPT, id


def test_parse_reads_the_packet_id_of_each_queued_packet_in_one_datagram() -> None:
    datagram = packet_message(5) + packet_message(6) + packet_message(2**32 - 1)

    assert parse_messages(datagram) == [Reply(packet_id=5), Reply(packet_id=6), Reply(packet_id=2**32 - 1)]


def test_parse_reads_acks_and_errors_as_positive_error_numbers() -> None:
    assert parse_messages(error_message(0)) == [Reply(error=0)]
    assert parse_messages(error_message(-1)) == [Reply(error=1)]  # EPERM: not root
    assert parse_messages(error_message(0) + packet_message(9)) == [Reply(error=0), Reply(packet_id=9)]


def test_parse_ignores_other_messages_and_stops_at_a_truncated_one() -> None:
    other = struct.pack("=IHHII", 16, 3, 0, 0, 0)  # NLMSG_DONE
    assert parse_messages(other + packet_message(4)) == [Reply(packet_id=4)]
    assert parse_messages(packet_message(4)[:10]) == []
    assert parse_messages(struct.pack("=IHHII", 0, 0, 0, 0, 0)) == []  # a zero length must not loop forever
