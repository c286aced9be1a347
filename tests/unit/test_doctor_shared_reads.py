"""SharedReads: one request per read however many collections ask, at once or later."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from kubectl_datadog.cluster import CONFIGMAPS, PODS, AccessCheck
from kubectl_datadog.collect.shared import SharedReads, narrows
from kubectl_datadog.errors import Forbidden
from tests.fakes import FakeCluster


class SlowFake(FakeCluster):
    """Answers gets slowly, so concurrent askers overlap."""

    def get(self, resource, name, namespace=None):  # type: ignore[no-untyped-def]
        time.sleep(0.05)
        return super().get(resource, name, namespace)


@pytest.mark.parametrize(("wide", "narrow", "expected"), [
    ("", "app=x", True),
    ("k in (a,b)", "k=a", True),
    ("k in (a,b)", "k in (a,b)", True),
    ("k in (a,b)", "k in (a,c)", False),
    ("k in (a,b)", "j=a", False),
    ("k=a", "k=a,j=b", True),
    ("k=a,j=b", "k=a", False),
    ("k in (a,b)", "k!=c", False),
    ("k!=c", "k=a", False),
], ids=["everything", "in-to-eq", "same", "other-value", "other-key", "more-terms", "fewer-terms",
        "negation-narrow", "negation-wide"])
def test_narrows(wide: str, narrow: str, expected: bool) -> None:
    assert narrows(wide, narrow) is expected


def test_concurrent_askers_wait_for_one_request() -> None:
    fake = SlowFake.from_scenario("helm")
    shared = SharedReads(fake)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: shared.get(CONFIGMAPS, "datadog-leader-election", "datadog"), range(8)))
    assert all(a is not None and a == answers[0] for a in answers)
    assert [c.name for c in fake.calls] == ["datadog-leader-election"]
    assert (shared.asked, shared.sent) == (8, 1)


def test_a_narrower_list_is_filtered_from_a_wider_one() -> None:
    fake = FakeCluster.from_scenario("helm")
    shared = SharedReads(fake)
    wide = list(shared.list(PODS, None, label_selector="app.kubernetes.io/component in (cluster-agent,agent)"))
    narrow = list(shared.list(PODS, "datadog", label_selector="app.kubernetes.io/component=cluster-agent"))
    direct = list(fake.list(PODS, "datadog", label_selector="app.kubernetes.io/component=cluster-agent"))
    assert len(wide) == 4 and [p["metadata"]["name"] for p in narrow] == [p["metadata"]["name"] for p in direct]
    assert len([c for c in fake.calls if c.resource == "pods"]) == 2  # the wide list, and the direct one above


def test_a_get_is_answered_from_a_whole_list() -> None:
    fake = FakeCluster.from_scenario("helm")
    shared = SharedReads(fake)
    list(shared.list(CONFIGMAPS, None))
    assert shared.get(CONFIGMAPS, "datadog-leader-election", "datadog") is not None
    assert shared.get(CONFIGMAPS, "absent", "datadog") is None
    assert [c.verb for c in fake.calls] == ["list"]


def test_errors_are_answers_too() -> None:
    fake = FakeCluster.from_scenario("helm")
    fake.scenario = {"forbidden": [{"verb": "get", "resource": "configmaps"}]}
    shared = SharedReads(fake)
    for _ in range(2):
        with pytest.raises(Forbidden):
            shared.get(CONFIGMAPS, "datadog-leader-election", "datadog")
    assert len(fake.calls) == 1


def test_access_reviews_are_asked_once_per_check() -> None:
    fake = FakeCluster.from_scenario("helm")
    shared = SharedReads(fake)
    a = AccessCheck("list", "pods", user="system:serviceaccount:datadog:x")
    b = AccessCheck("watch", "events", user="system:serviceaccount:datadog:x")
    assert shared.access([a, b]) == [True, True]
    assert shared.access([b, a, b]) == [True, True, True]
    assert len(fake.calls) == 2


def test_exec_is_run_once() -> None:
    fake = FakeCluster.from_scenario("helm")
    shared = SharedReads(fake)
    argv = ["datadog-cluster-agent", "status"]
    first = shared.exec("datadog", "datadog-cluster-agent-8568545574-x9tc9", "cluster-agent", argv)
    second = shared.exec("datadog", "datadog-cluster-agent-8568545574-x9tc9", "cluster-agent", argv)
    assert first is second and first.ok
    assert len(fake.calls) == 1


def test_seen_returns_what_a_list_read_without_asking() -> None:
    fake = FakeCluster.from_scenario("helm")
    shared = SharedReads(fake)
    list(shared.list(PODS, None, label_selector="app.kubernetes.io/component in (cluster-agent,agent)"))
    seen = shared.seen(PODS)
    assert seen[("datadog", "datadog-9d5bl")]["metadata"]["name"] == "datadog-9d5bl"
    assert ("datadog", "absent") not in seen and shared.seen(CONFIGMAPS) == {}
    assert len(fake.calls) == 1


def test_threads_asking_different_reads_do_not_wait_for_each_other() -> None:
    fake = SlowFake.from_scenario("helm")
    shared = SharedReads(fake)
    started = time.monotonic()
    threads = [threading.Thread(target=shared.get, args=(CONFIGMAPS, f"cm-{i}", "datadog")) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started < 0.05 * 6 * 0.8
    assert len(fake.calls) == 6


def test_streamed_whole_lists_pass_through_unkept() -> None:
    from kubectl_datadog.cluster import ENDPOINTSLICES

    fake = FakeCluster.from_scenario("helm")
    shared = SharedReads(fake, streamed=(ENDPOINTSLICES,))
    for _ in range(2):
        assert len(list(shared.list(ENDPOINTSLICES, None))) == 2
    narrow = list(shared.list(ENDPOINTSLICES, "datadog", label_selector="kubernetes.io/service-name=datadog-cluster-agent"))
    assert len(narrow) == 1
    assert [c.verb for c in fake.calls] == ["list", "list", "list"]  # whole lists are not kept to answer others


def test_install_discovery_runs_once_on_shared_reads() -> None:
    from kubectl_datadog.collect.install import discover

    shared = SharedReads(FakeCluster.from_scenario("helm"))
    first, second = discover(shared), discover(shared, namespace=None)
    assert first == second and first[0] is second[0]  # the same installs, not parsed again
    assert first is not second  # each caller gets its own list
    plain = FakeCluster.from_scenario("helm")
    assert discover(plain)[0] is not discover(plain)[0]


def test_every_cluster_method_is_shared() -> None:
    """A method added to the Cluster protocol must be added here too (doctor's areas call it through
    SharedReads): the protocol's methods and SharedReads' are compared by name and parameters."""
    import inspect

    from kubectl_datadog.cluster import Cluster

    for name, member in inspect.getmembers(Cluster):
        if name.startswith("_"):
            continue
        assert hasattr(SharedReads, name), name
        if inspect.isfunction(member):
            assert list(inspect.signature(member).parameters) == \
                list(inspect.signature(getattr(SharedReads, name)).parameters), name


def test_proxy_reads_are_made_once() -> None:
    class ProxyFake(FakeCluster):
        def proxy_get(self, namespace, pod, port, path, timeout=None):  # type: ignore[no-untyped-def]
            self.calls.append(("proxy", pod, port, path))  # type: ignore[arg-type]
            return "metric 1\n"

    fake = ProxyFake.from_scenario("helm")
    shared = SharedReads(fake)
    assert shared.proxy_get("datadog", "p", 5000, "/metrics") == shared.proxy_get("datadog", "p", 5000, "/metrics")
    assert len(fake.calls) == 1
