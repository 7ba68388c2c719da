"""A fixed delay on every packet a network namespace sends, from user space through NFQUEUE.

What `tc qdisc add dev eth0 root netem delay 100ms` does, for kernels built
without sch_netem (this build machine's has none, and loads no modules). An
iptables rule in the namespace hands each outgoing packet to a netfilter queue;
this program, run inside the namespace, holds each packet for the delay and
then lets it go, in the order the packets came:

    nsenter -t PID -n python -m orka.testing.netdelay --queue 7 --delay-ms 100

It speaks nfnetlink_queue itself (the standard library has no binding) and
copies only each packet's metadata, never its payload. It lets every held
packet go and exits when its stdin closes (the caller went away) or on SIGTERM.
The rule is added with --queue-bypass, so traffic flows undelayed, never
dropped, while no program listens.
"""

from __future__ import annotations

import argparse
import errno
import os
import select
import signal
import socket
import struct
import sys
import time
from collections import deque
from dataclasses import dataclass

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_CONFIG = 2
NFQNL_MSG_VERDICT_BATCH = 3
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLMSG_ERROR = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQA_CFG_MASK = 4
NFQA_CFG_FLAGS = 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
# Fail open: if the queue overflows, a packet goes on undelayed rather than dropped.
# GSO: take large segmentation-offload packets whole (fewer packets, no payload copy needed).
NFQA_CFG_F_FAIL_OPEN = 0x1
NFQA_CFG_F_GSO = 0x4
NF_ACCEPT = 1
NLMSG_HEADER = struct.Struct("=IHHII")  # length, type, flags, sequence, port id (host order)
NLA_HEADER = struct.Struct("=HH")  # length, type
QUEUE_MAXLEN = 65536  # packets held at once; 100 ms of a busy link fits


def _attribute(kind: int, payload: bytes) -> bytes:
    length = NLA_HEADER.size + len(payload)
    return NLA_HEADER.pack(length, kind) + payload + b"\0" * (-length % 4)


def queue_message(msg_type: int, queue: int, attributes: list[bytes], seq: int, ack: bool = False) -> bytes:
    """One nfnetlink_queue request: netlink header, nfgenmsg (AF_UNSPEC, v0, queue in network order), attributes."""
    body = struct.pack("=BB", socket.AF_UNSPEC, 0) + struct.pack("!H", queue) + b"".join(attributes)
    flags = NLM_F_REQUEST | (NLM_F_ACK if ack else 0)
    return NLMSG_HEADER.pack(NLMSG_HEADER.size + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg_type, flags, seq, 0) + body


def config_messages(queue: int) -> list[bytes]:
    """Bind the queue, copy metadata only, hold many packets, fail open, take GSO packets whole."""
    flags = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO
    steps = [
        [_attribute(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, 0))],
        [_attribute(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))],
        [_attribute(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", QUEUE_MAXLEN))],
        [_attribute(NFQA_CFG_MASK, struct.pack("!I", flags)), _attribute(NFQA_CFG_FLAGS, struct.pack("!I", flags))],
    ]
    return [queue_message(NFQNL_MSG_CONFIG, queue, attrs, seq, ack=True) for seq, attrs in enumerate(steps, 1)]


def accept_up_to(queue: int, packet_id: int) -> bytes:
    """Let go every held packet with an id up to packet_id (ids rise in the order packets came)."""
    verdict = _attribute(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, packet_id))
    return queue_message(NFQNL_MSG_VERDICT_BATCH, queue, [verdict], seq=0)


@dataclass(frozen=True)
class Reply:
    """What one received netlink message says: a queued packet's id, or an error code (0: an ack)."""

    packet_id: int | None = None
    error: int | None = None


def parse_messages(data: bytes) -> list[Reply]:
    """The packets and acks in one datagram from the kernel (it may hold several messages)."""
    replies = []
    offset = 0
    while offset + NLMSG_HEADER.size <= len(data):
        length, msg_type, _, _, _ = NLMSG_HEADER.unpack_from(data, offset)
        if length < NLMSG_HEADER.size:
            break
        payload = data[offset + NLMSG_HEADER.size : offset + length]
        if msg_type == NLMSG_ERROR:
            replies.append(Reply(error=-struct.unpack_from("=i", payload)[0]))
        elif msg_type == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            replies.append(Reply(packet_id=_packet_id(payload[4:])))  # after the nfgenmsg
        offset += (length + 3) & ~3
    return replies


def _packet_id(attributes: bytes) -> int | None:
    offset = 0
    while offset + NLA_HEADER.size <= len(attributes):
        length, kind = NLA_HEADER.unpack_from(attributes, offset)
        if length < NLA_HEADER.size:
            return None
        if kind & 0x7FFF == NFQA_PACKET_HDR:
            return int(struct.unpack_from("!I", attributes, offset + NLA_HEADER.size)[0])
        offset += (length + 3) & ~3
    return None


class Delayer:
    """Holds each packet of one queue for a fixed time, then lets it go."""

    def __init__(self, queue: int, delay_s: float) -> None:
        self.queue = queue
        self.delay_s = delay_s
        self.held: deque[tuple[float, int]] = deque()  # (when to let go, packet id), oldest first
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            # Root may raise the buffer past rmem_max: a full buffer loses packets.
            self.sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((0, 0))
        for message in config_messages(queue):
            self.sock.send(message)
            self._expect_ack()
        self.sock.setblocking(False)

    def _expect_ack(self) -> None:
        for reply in parse_messages(self.sock.recv(65536)):
            if reply.error:
                raise OSError(reply.error, f"nfnetlink_queue {self.queue}: {os.strerror(reply.error)}")

    def receive(self) -> None:
        now = time.monotonic()
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:  # the kernel could not hand us some packets; they went on
                    continue
                raise
            self.held.extend((now + self.delay_s, r.packet_id) for r in parse_messages(data) if r.packet_id is not None)

    def release(self, everything: bool = False) -> None:
        now = time.monotonic()
        last = None
        while self.held and (everything or self.held[0][0] <= now):
            last = self.held.popleft()[1]
        if last is not None:
            self.sock.send(accept_up_to(self.queue, last))

    def next_release_in(self) -> float | None:
        return max(0.0, self.held[0][0] - time.monotonic()) if self.held else None

    def run(self, stop_fd: int) -> None:
        """Until stop_fd reaches its end (or SIGTERM), hold and release packets."""

        def on_term(signum: int, frame: object) -> None:
            raise _Stopped  # out of a select that would otherwise wait on

        signal.signal(signal.SIGTERM, on_term)
        print(f"orka.testing.netdelay: queue {self.queue}, {self.delay_s * 1000:.0f} ms", flush=True)
        try:
            while True:
                readable, _, _ = select.select([self.sock.fileno(), stop_fd], [], [], self.next_release_in())
                if stop_fd in readable and not os.read(stop_fd, 4096):
                    break
                if self.sock.fileno() in readable:
                    self.receive()
                self.release()
        except _Stopped:
            pass
        finally:
            self.release(everything=True)
            self.sock.close()


class _Stopped(Exception):
    """SIGTERM arrived."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orka.testing.netdelay", description=__doc__.splitlines()[0])
    parser.add_argument("--queue", type=int, required=True, help="netfilter queue number (0-65535)")
    parser.add_argument("--delay-ms", type=float, required=True, help="delay added to every packet")
    args = parser.parse_args(argv)
    try:
        delayer = Delayer(args.queue, args.delay_ms / 1000)
    except OSError as exc:
        print(f"orka.testing.netdelay: cannot listen on netfilter queue {args.queue}: {exc}", file=sys.stderr)
        return 1
    delayer.run(sys.stdin.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
