"""A wire fuzzer: seeded frames that every sparkbook role must drop, each counted once.

``Fuzzer(rng, key, sender, receiver).batch()`` returns multipart messages (lists of
bytes, as a DEALER sends them to a ROUTER, or as a ROUTER sends them after the identity)
and how many drops they must cost the receiver. The kinds, picked at random:

* random: 1-4 frames of random bytes;
* truncated: a well-signed message cut short (envelope, body or a whole frame);
* oversized: a well-signed message with a 1-4 MiB frame added or its body replaced;
* reordered: a well-signed message's frames in another order;
* mis-signed: signed with another secret;
* misrouted: correctly signed, but for another receiver or from another sender;
* stale: correctly signed, sent a long REPLAY_WINDOW ago;
* replayed: a correctly signed message the receiver does not handle, sent twice (the
  first is dropped by its dispatch table, the copy as a replay); and the same with two
  sequence numbers swapped;
* wrong shape: correctly signed bodies that are not the fields of their type (a list,
  a number, an extra field, a field of the wrong type, an unknown type).

The sender's session is fresh for every signed message, except in the two replay kinds,
so a receiver's replay guard is tested by what it must refuse and nothing else.
"""

from __future__ import annotations

import pickle
import random
import re
import secrets
import time

from sparkbook import wire
from sparkbook.messages import Message

KINDS = ("random", "truncated", "oversized", "reordered", "mis-signed", "misrouted",
         "stale", "replayed", "wrong shape")
# Bodies of the wrong shape; each fails messages.decode (checked by the in-process test).
WRONG_SHAPES = (
    (b"Heartbeat", ["a", "list"]),
    (b"LaunchTask", 7),
    (b"RegisterExecutor", None),
    (b"AppHeartbeat", {"app_id": "x", "extra": 1}),
    (b"KillTask", {"task_id": "one"}),
    (b"ExecutorLost", {"executor_id": 7}),
    (b"NoSuchMessage", {}),
    (b"", {}),
)


class Fuzzer:
    """Hostile frames from ``sender`` (the DEALER identity, or the ROUTER's name) to
    ``receiver`` (the name the receiving end goes by in routes). ``unhandled`` is a
    well-formed message the receiver's dispatch table has no handler for."""

    def __init__(self, rng: random.Random, key: bytes, sender: bytes, receiver: bytes,
                 unhandled: Message, oversized_every: int = 500) -> None:
        self.rng, self.key, self.sender, self.receiver = rng, key, sender, receiver
        self.unhandled = unhandled
        self.oversized_every = oversized_every  # an oversized frame is 1-4 MiB: ration them
        self.sent = dict.fromkeys(KINDS, 0)

    def signed(self, wire_type: bytes, body: bytes, frames: tuple = (), *,
               key: bytes | None = None, session: bytes | None = None, seq: int = 1,
               sent_at: float | None = None, sender: bytes | None = None,
               receiver: bytes | None = None) -> list[bytes]:
        """One message as wire.Channel signs it, every field of it open to change."""
        head = (wire.HEADER.pack(session or secrets.token_bytes(16), seq,
                                 time.time() if sent_at is None else sent_at)
                + wire._route(self.sender if sender is None else sender,
                              self.receiver if receiver is None else receiver) + wire_type)
        signed = [head, body, *frames]
        return [wire.MAGIC + wire.Signer(key or self.key).digest(signed) + head, *signed[1:]]

    def good(self, **fields) -> list[bytes]:
        msg = self.unhandled
        return self.signed(msg.wire_type, pickle.dumps(msg.encode(), wire.PICKLE_PROTOCOL),
                           (b"payload",), **fields)

    def batch(self) -> tuple[list[list[bytes]], int]:
        """Messages of one random kind, and the drops they must cost."""
        rng = self.rng
        kind = rng.choice(KINDS)
        if kind == "oversized" and rng.randrange(self.oversized_every):
            kind = "mis-signed"
        self.sent[kind] += 1
        if kind == "random":
            return [[rng.randbytes(rng.randrange(200)) for _ in range(rng.randint(1, 4))]], 1
        if kind == "truncated":
            parts = self.good()
            which = rng.randrange(3)
            if which == 0:
                parts[0] = parts[0][:rng.randrange(len(parts[0]))]
            elif which == 1:
                parts[1] = parts[1][:rng.randrange(len(parts[1]))]
            else:
                del parts[rng.randrange(1, len(parts))]
            return [parts], 1
        if kind == "oversized":
            big = rng.randbytes(rng.randint(1, 4) << 20)
            parts = self.good()
            if rng.random() < 0.5:
                parts.append(big)
            else:
                parts[1] = big
            return [parts], 1
        if kind == "reordered":
            parts = self.good()
            order = list(range(len(parts)))
            while order == sorted(order):
                rng.shuffle(order)
            return [[parts[i] for i in order]], 1
        if kind == "mis-signed":
            return [self.good(key=rng.randbytes(32))], 1
        if kind == "misrouted":
            other = rng.randbytes(rng.randint(1, 20))
            return [self.good(receiver=other) if rng.random() < 0.5
                    else self.good(sender=other)], 1
        if kind == "stale":
            return [self.good(sent_at=time.time() - 2 * wire.REPLAY_WINDOW)], 1
        if kind == "replayed":
            session = secrets.token_bytes(16)
            if rng.random() < 0.5:
                parts = self.good(session=session)
                return [parts, list(parts)], 2
            return [self.good(session=session, seq=2), self.good(session=session, seq=1)], 2
        wire_type, body = rng.choice(WRONG_SHAPES)
        return [self.signed(wire_type, pickle.dumps(body))], 1


def drops_logged(stderr: str) -> int:
    """Drops a process's log accounts for: one per 'dropped a message' line, plus the 'and
    N more since the last line' each line adds (messages.DropCounter's rate limit)."""
    total = 0
    for line in stderr.splitlines():
        if "dropped a message" not in line:
            continue
        more = re.search(r"\(and (\d+) more since the last line", line)
        total += 1 + (int(more.group(1)) if more else 0)
    return total
