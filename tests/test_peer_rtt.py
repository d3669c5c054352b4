"""--peer round trips, against local listeners on 127.0.0.1 only."""

import socket
import threading

import pytest

from rcarkit.errors import RcarkitError
from rcarkit.etcd.peer import measure_peer, parse_peer


@pytest.fixture
def listener():
    """A TCP server on 127.0.0.1 that accepts and closes connections; yields
    (address, accepted-counter)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    srv.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            accepted.append(1)
            conn.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield "127.0.0.1:%d" % srv.getsockname()[1], accepted
    stop.set()
    thread.join(2)
    srv.close()


def _closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()          # nothing listens there now: connect is refused
    return port


@pytest.mark.parametrize("text,expected", [
    ("10.0.0.5:2380", ("10.0.0.5", 2380)),
    ("etcd1.lan:2379", ("etcd1.lan", 2379)),
    ("[fd00::5]:2380", ("fd00::5", 2380)),
    (" 127.0.0.1:1 ", ("127.0.0.1", 1)),
])
def test_parse_peer(text, expected):
    assert parse_peer(text) == expected


@pytest.mark.parametrize("text", ["", "host", "host:", ":2380", "host:0", "host:65536",
                                  "host:port", "fd00::5:2380", "[fd00::5]2380", "a b:1"])
def test_parse_peer_rejects(text):
    with pytest.raises(RcarkitError) as info:
        parse_peer(text)
    assert "\n" not in str(info.value)


def test_measures_count_connections(listener):
    address, accepted = listener
    m = measure_peer(address, count=25, max_time=10, interval=0)
    assert m.stats.engine == "tcp-rtt"
    assert m.stats.count == 25 and m.attempts == 25 and m.failures == 0
    assert 0 < m.stats.p50 <= m.stats.p99 <= m.stats.max
    assert m.resolved == "127.0.0.1"
    d = m.to_dict()
    assert d["stats"]["count"] == 25 and d["stats"]["p99_ms"] > 0


def test_every_probe_is_a_real_connection(listener):
    address, accepted = listener
    measure_peer(address, count=10, max_time=10, interval=0)
    # The server saw the connections (give the accept thread a moment).
    for _ in range(50):
        if len(accepted) >= 10:
            break
        threading.Event().wait(0.02)
    assert len(accepted) == 10


def test_bounded_by_max_time(listener):
    address, _ = listener
    m = measure_peer(address, count=10 ** 6, max_time=0.3, interval=0.01)
    assert m.attempts < 10 ** 6
    assert m.stats.count == m.attempts - m.failures


def test_refused_port_is_one_line_error():
    with pytest.raises(RcarkitError) as info:
        measure_peer("127.0.0.1:%d" % _closed_port(), count=3, max_time=5, interval=0)
    text = str(info.value)
    assert "no TCP connection succeeded" in text and "\n" not in text


def test_unresolvable_name():
    # .invalid is reserved (RFC 2606) and never resolves.
    with pytest.raises(RcarkitError) as info:
        measure_peer("no-such-host.invalid:2380", count=1, max_time=5)
    assert "cannot resolve" in str(info.value)


def test_bad_bounds():
    with pytest.raises(RcarkitError):
        measure_peer("127.0.0.1:1", count=0)
    with pytest.raises(RcarkitError):
        measure_peer("127.0.0.1:1", max_time=0)
