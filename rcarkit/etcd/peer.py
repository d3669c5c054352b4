"""TCP round-trip time to a candidate etcd host (``etcd-bench --peer HOST:PORT``).

``measure_peer("10.0.0.5:2380")`` opens ``count`` TCP connections to the
address, one after the other, and times each ``connect()``: the kernel returns
from a blocking connect when the SYN-ACK arrives, so the time is one network
round trip plus the two hosts' stack latency, the same order as the round trip
etcd's tuning guide asks the heartbeat to cover ("The easiest way to measure
round-trip time (RTT) is to use PING utility"; ICMP needs privileges that a
TCP connect does not, and a TCP connect also crosses firewalls that let
etcd's ports through). Each connection is closed at once; nothing is sent.

* The name is resolved once, before timing (DNS is not part of the round trip).
* The run is bounded: at most ``count`` probes and ``max_time`` seconds in
  total; each connect waits at most ``timeout`` seconds (and never past the
  total bound). ``interval`` seconds pass between probes.
* A probe that fails (refused, timed out, unreachable) counts in ``failures``
  and its error is kept; when the first ``GIVE_UP_AFTER`` probes all fail the
  run stops there. If none succeeds the measurement raises
  :class:`rcarkit.errors.RcarkitError` (one line: the address and the error).

The result's ``stats`` is an :class:`rcarkit.etcd.stats.FsyncStats` of the
round trips (seconds) with ``engine="tcp-rtt"``, so the recommendation treats
it like the disk statistics (p99 and its confidence interval).

``HOST:PORT`` forms: ``10.0.0.5:2380``, ``etcd1.lan:2379``, ``[fd00::5]:2380``.
"""

import socket
import time
from dataclasses import dataclass, field
from typing import List, Tuple

from rcarkit.errors import RcarkitError
from rcarkit.etcd.stats import FsyncStats

__all__ = ["PeerMeasurement", "parse_peer", "measure_peer", "DEFAULT_COUNT",
           "DEFAULT_MAX_TIME", "DEFAULT_TIMEOUT"]

DEFAULT_COUNT = 100
DEFAULT_MAX_TIME = 10.0
DEFAULT_TIMEOUT = 2.0
DEFAULT_INTERVAL = 0.01
# Stop early when the first probes all fail (refused, unreachable, timed out).
GIVE_UP_AFTER = 5


def parse_peer(text: str) -> Tuple[str, int]:
    """``"HOST:PORT"`` -> ``(host, port)``; RcarkitError on anything else."""
    value = (text or "").strip()
    hint = "use HOST:PORT, e.g. 10.0.0.5:2380 or [fd00::5]:2380"
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or not value[end + 1:].startswith(":"):
            raise RcarkitError("--peer %r is not HOST:PORT" % text, hint=hint)
        host, port_text = value[1:end], value[end + 2:]
    else:
        host, sep, port_text = value.rpartition(":")
        if not sep or ":" in host:
            raise RcarkitError("--peer %r is not HOST:PORT" % text, hint=hint)
    if not host or any(c.isspace() for c in host):
        raise RcarkitError("--peer %r has no valid host" % text, hint=hint)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise RcarkitError("--peer %r: port must be a number from 1 to 65535" % text, hint=hint)
    return host, int(port_text)


@dataclass
class PeerMeasurement:
    """TCP connect round trips to one address."""

    address: str
    host: str
    port: int
    resolved: str
    stats: FsyncStats
    attempts: int
    failures: int
    elapsed: float
    errors: List[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"address": self.address, "host": self.host, "port": self.port,
                "resolved": self.resolved, "attempts": self.attempts,
                "failures": self.failures, "elapsed_s": round(self.elapsed, 6),
                "errors": sorted(set(self.errors))[:5], "stats": self.stats.to_dict()}


def _resolve(host: str, port: int, address: str):
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise RcarkitError("--peer %s: cannot resolve %r: %s" % (address, host, exc.strerror),
                           hint="check the name or give an IP address")
    except UnicodeError:
        raise RcarkitError("--peer %s: %r is not a valid host name" % (address, host))
    if not infos:
        raise RcarkitError("--peer %s: %r has no address" % (address, host))
    family, socktype, proto, _, sockaddr = infos[0]
    return family, socktype, proto, sockaddr


def measure_peer(address: str, count: int = DEFAULT_COUNT, max_time: float = DEFAULT_MAX_TIME,
                 timeout: float = DEFAULT_TIMEOUT, interval: float = DEFAULT_INTERVAL,
                 progress=None) -> PeerMeasurement:
    """Time up to ``count`` TCP connects to ``address`` within ``max_time`` s.

    ``progress``: optional ``callable(fraction, text)``.
    """
    if count < 1:
        raise RcarkitError("peer probe count must be at least 1")
    if not max_time > 0:
        raise RcarkitError("peer max time must be positive")
    host, port = parse_peer(address)
    family, socktype, proto, sockaddr = _resolve(host, port, address)
    samples: List[float] = []
    errors: List[str] = []
    attempts = 0
    start = time.monotonic()
    deadline = start + max_time
    while attempts < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        attempts += 1
        sock = socket.socket(family, socktype, proto)
        try:
            sock.settimeout(min(timeout, remaining))
            t0 = time.perf_counter_ns()
            sock.connect(sockaddr)
            t1 = time.perf_counter_ns()
            samples.append((t1 - t0) / 1e9)
        except socket.timeout:
            errors.append("timed out after %.1f s" % min(timeout, remaining))
        except OSError as exc:
            errors.append(exc.strerror or str(exc))
        finally:
            sock.close()
        if not samples and len(errors) >= GIVE_UP_AFTER:
            break  # nothing answers: no point in trying the remaining probes
        if progress is not None:
            progress(min(1.0, max(attempts / float(count),
                                  (time.monotonic() - start) / max_time)),
                     "peer %s: %d probes" % (address, attempts))
        if interval > 0 and attempts < count:
            pause = min(interval, deadline - time.monotonic())
            if pause > 0:
                time.sleep(pause)
    elapsed = time.monotonic() - start
    if not samples:
        reason = errors[-1] if errors else "no probe fitted in the time limit"
        raise RcarkitError("--peer %s: no TCP connection succeeded (%d tries): %s"
                           % (address, attempts, reason),
                           hint="is etcd (or anything) listening there, and is the port open?")
    resolved = sockaddr[0] if isinstance(sockaddr, tuple) else str(sockaddr)
    return PeerMeasurement(address=address, host=host, port=port, resolved=resolved,
                           stats=FsyncStats.from_samples(samples, engine="tcp-rtt"),
                           attempts=attempts, failures=attempts - len(samples),
                           elapsed=elapsed, errors=errors)
