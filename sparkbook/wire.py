"""The wire between driver, cluster manager and executors: signed multipart ZeroMQ messages.

Every message, after the identity frame a ROUTER socket adds, is::

    0  envelope      b"SB1" | signature (32) | header (32) | route | type (ASCII)
    1  body          pickle (protocol 5) of the message's fields
    2.. frames       raw payload frames (task binaries, partitions, results, shuffle blocks)

The header is the session id (16 bytes), a sequence number (u64) and the send time (f64);
the route names the sender and the receiver (each a length byte and the name: a ROUTER
by the address its peers connect to, a DEALER by its socket identity); the signature is
HMAC-SHA256 over header + route + type, the body and every payload frame, each prefixed
by its 8-byte length.

A receiver checks the signature in constant time before anything is unpickled, then
that the route names it and the peer the frame came from (so a frame meant for one
executor is refused by another), then rejects replays: a sequence number not above the
last one seen from that session, or a send time outside ``REPLAY_WINDOW`` seconds of its
own clock. Rejected messages are dropped, counted and logged. A ROUTER answers a bad
signature with the single unsigned frame ``AUTH_FAILED`` so that a peer holding the wrong
secret fails fast with ``AuthenticationError`` instead of waiting forever. The messages
each role sends are listed in docs/protocol.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import pickle
import secrets
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import zmq

from sparkbook.messages import DropCounter, Message, decode

MAGIC = b"SB1"
AUTH_FAILED = b"SB1-AUTH-FAILED"
HEADER = struct.Struct("!16sQd")
_SIG_END = len(MAGIC) + 32
_HEADER_END = _SIG_END + HEADER.size
_SMALL = 64 * 1024  # below this, copying a frame is cheaper than sending it zero-copy
REPLAY_WINDOW = 300.0
PICKLE_PROTOCOL = 5

log = logging.getLogger("sparkbook.wire")


class AuthenticationError(ConnectionError):
    """A peer rejected our signature: the two processes hold different cluster secrets."""


@dataclass(slots=True)
class Envelope:
    """One verified message, its raw payload frames and its sender (a ROUTER's peer)."""

    message: Message
    frames: list
    identity: bytes | None = None


class Signer:
    """HMAC-SHA256 over a message's frames, with the frame boundaries bound in."""

    def __init__(self, key: bytes) -> None:
        self._base = hmac.new(key, digestmod=hashlib.sha256)

    def digest(self, frames: list) -> bytes:
        mac = self._base.copy()
        for frame in frames:
            mac.update(len(frame).to_bytes(8, "big"))
            mac.update(frame)
        return mac.digest()

    def verify(self, signature: bytes, frames: list) -> bool:
        return hmac.compare_digest(signature, self.digest(frames))


class ReplayGuard:
    """Remembers the last sequence number of every sending session."""

    def __init__(self, window: float = REPLAY_WINDOW) -> None:
        self.window = window
        self._last: dict[bytes, tuple[int, float]] = {}
        self._next_prune = 0.0

    def accept(self, session: bytes, seq: int, sent_at: float, now: float) -> bool:
        if abs(now - sent_at) > self.window:
            return False
        last = self._last.get(session)
        if last is not None and seq <= last[0]:
            return False
        self._last[session] = (seq, now)
        if now > self._next_prune:
            # A session idle for two windows can only be replayed with stale send times.
            cutoff = now - 2 * self.window
            self._last = {s: v for s, v in self._last.items() if v[1] >= cutoff}
            self._next_prune = now + self.window
        return True


def _route(sender: bytes, receiver: bytes) -> bytes:
    return bytes([len(sender)]) + sender + bytes([len(receiver)]) + receiver


def _split_route(rest: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(sender, receiver, type) from what follows the header, or None if it is cut short."""
    n = rest[0] if rest else 0
    m = rest[1 + n] if len(rest) > 1 + n else None
    if m is None or len(rest) < 2 + n + m:
        return None
    return rest[1:1 + n], rest[2 + n:2 + n + m], rest[2 + n + m:]


class Channel:
    """A ZeroMQ socket that signs what it sends and verifies what it receives.

    ``local`` is this end's name in routes (a ROUTER's address as its peers write it; a
    DEALER's socket identity, read from the socket), ``peer`` the name of the ROUTER a
    DEALER talks to. A channel that knows them refuses frames routed elsewhere."""

    def __init__(self, socket: zmq.Socket, key: bytes, name: str = "",
                 local: str | bytes | None = None, peer: str | bytes | None = None) -> None:
        self.socket = socket
        self.router = socket.type == zmq.ROUTER
        self.name = name
        if local is None and not self.router:
            local = socket.getsockopt(zmq.IDENTITY)
            if not local:
                raise ValueError("a DEALER's routes name its identity: make it with make_socket")
        self.local = local.encode() if isinstance(local, str) else local
        self.peer = peer.encode() if isinstance(peer, str) else peer
        self._signer = Signer(key)
        self._guard = ReplayGuard()
        self._session = secrets.token_bytes(16)
        self._seq = 0
        self._auth_replies: dict[bytes, float] = {}
        self.drops = DropCounter(name or "wire", log)

    @property
    def dropped(self) -> int:
        return self.drops.total

    def send(self, message: Message, frames: list | tuple = (), to: bytes | None = None) -> None:
        self._send_signed(message.wire_type, pickle.dumps(message.encode(), PICKLE_PROTOCOL),
                          frames, to)

    def _send_signed(self, wire_type: bytes, body: bytes, frames: list | tuple = (),
                     to: bytes | None = None) -> None:
        self._seq += 1
        receiver = (to if self.router else self.peer) or b""
        head = (HEADER.pack(self._session, self._seq, time.time())
                + _route(self.local or b"", receiver) + wire_type)
        signed = [head, body, *frames]
        parts = [MAGIC + self._signer.digest(signed) + head, *signed[1:]]
        if self.router:
            parts.insert(0, to)
        small = all(len(f) < _SMALL for f in frames)
        self.socket.send_multipart(parts, copy=small)

    def recv(self, flags: int = 0) -> Envelope | None:
        """The next message, or None when it failed verification or is not a message of
        the protocol (it is dropped, logged and counted)."""
        parts = self.socket.recv_multipart(flags, copy=False)
        identity = parts.pop(0).bytes if self.router else None
        if len(parts) == 1 and parts[0].bytes == AUTH_FAILED and not self.router:
            raise AuthenticationError(
                f"{self.name or 'peer'} rejected this process's signature: "
                "it belongs to a cluster with a different secret (check --cluster-file)"
            )
        envelope = parts[0].bytes
        if len(parts) < 2 or len(envelope) <= _HEADER_END or not envelope.startswith(MAGIC):
            return self._drop(identity, "not a sparkbook message", reply=True)
        head = envelope[_SIG_END:]
        signed = [head, *(p.buffer for p in parts[1:])]
        if not self._signer.verify(envelope[len(MAGIC):_SIG_END], signed):
            return self._drop(identity, "bad signature", reply=True)
        route = _split_route(envelope[_HEADER_END:])
        if route is None:
            return self._drop(identity, "malformed", "route cut short")
        sender, receiver, wire_type = route
        if self.local is not None and receiver != self.local:
            return self._drop(identity, "addressed to another receiver", repr(receiver))
        expected_sender = identity if self.router else self.peer
        if expected_sender is not None and sender != expected_sender:
            return self._drop(identity, "sent by another peer", repr(sender))
        session, seq, sent_at = HEADER.unpack(envelope[_SIG_END:_HEADER_END])
        if not self._guard.accept(session, seq, sent_at, time.time()):
            return self._drop(identity, "replayed or stale message")
        try:
            message = decode(wire_type, pickle.loads(parts[1].buffer))
        except Exception as exc:  # noqa: BLE001 - signed, yet not a message that fits
            return self._drop(identity, "malformed", str(exc))
        return Envelope(message, parts[2:], identity)

    def _drop(self, identity: bytes | None, reason: str, detail: str = "",
              reply: bool = False) -> None:
        self.drops.drop(reason, f"from {identity!r}" + (f": {detail}" if detail else ""))
        if reply and self.router and identity is not None:
            now = time.monotonic()
            if now - self._auth_replies.get(identity, 0.0) > 1.0:
                if len(self._auth_replies) > 1024:  # many forged identities: forget old ones
                    self._auth_replies = {i: t for i, t in self._auth_replies.items()
                                          if now - t <= 1.0}
                self._auth_replies[identity] = now
                try:
                    self.socket.send_multipart([identity, AUTH_FAILED], zmq.NOBLOCK)
                except zmq.ZMQError:
                    pass
        return None


def make_socket(ctx: zmq.Context, kind: int, identity: bytes | None = None) -> zmq.Socket:
    """A socket set up the way every sparkbook socket is: no lingering, no silent drops,
    and a DEALER with an identity it knows (routes name it)."""
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.setsockopt(zmq.RCVHWM, 0)
    if identity is None and kind == zmq.DEALER:
        identity = b"D" + secrets.token_bytes(15)  # a leading zero byte is ZeroMQ's own
    if identity is not None:
        sock.setsockopt(zmq.IDENTITY, identity)
    if kind == zmq.ROUTER:
        # A message to a peer that has gone must raise, not vanish (see DESIGN pitfalls).
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    return sock


def parse_master_url(url: str) -> str:
    """``sparkbook://HOST:PORT`` -> ``tcp://HOST:PORT``."""
    if not url.startswith("sparkbook://"):
        raise ValueError(f"not a sparkbook master URL: {url!r} (expected sparkbook://HOST:PORT)")
    hostport = url[len("sparkbook://"):].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"not a sparkbook master URL: {url!r} (expected sparkbook://HOST:PORT)")
    return f"tcp://{host}:{port}"


# --- the cluster file: the secret, kept like a Jupyter connection file ---------------------


@dataclass(slots=True)
class ClusterFile:
    """What a process needs to join a cluster: the manager's address and the secret."""

    path: Path
    address: str
    key: bytes

    @property
    def master_url(self) -> str:
        return "sparkbook://" + self.address[len("tcp://"):]


def default_cluster_file(master_url: str) -> Path:
    """Where ``sparkbook manager`` keeps the file for a given address, in the user's home."""
    hostport = parse_master_url(master_url)[len("tcp://"):].replace(":", "-")
    return Path.home() / ".sparkbook" / "clusters" / f"{hostport}.json"


def write_cluster_file(path: Path, address: str, key: bytes | None = None) -> ClusterFile:
    """Write a fresh (or given) secret to ``path`` with mode 0600, its folder 0700."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = key if key is not None else secrets.token_hex(32).encode()
    text = json.dumps({"address": address, "key": key.decode(), "signature_scheme": "hmac-sha256"})
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return ClusterFile(path, address, key)


def read_cluster_file(path: Path) -> ClusterFile:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no cluster file at {path}: start the manager on this machine first "
            "(sparkbook manager), or copy its cluster file here and pass --cluster-file"
        ) from None
    if path.stat().st_mode & 0o077:
        log.warning("cluster file %s is readable by others; it should be mode 0600", path)
    return ClusterFile(path, data["address"], data["key"].encode())
