"""The emulator's own rules, in process: preconditions, operations, validation, throttling, persistence."""

import pytest

from armemulator.arm.clusters import sample_cluster
from armemulator.arm.errors import ArmError
from armemulator.arm.store import DEFAULT_SUBSCRIPTION as SUB
from armemulator.arm.store import Store, TokenBucket

# No az in these tests: the az-release matrix (scripts/test-matrix.sh) leaves them out.
pytestmark = pytest.mark.same_on_every_az


@pytest.fixture
def store(clock):
    s = Store(operation_seconds=5, clock=clock)
    s.etags_default = True  # the API specification's mode; the no-ETag mode of the recordings is tested below
    s.put_resource_group(SUB, "rg", "eastus")
    return s


def put(store, body=None, **conditions):
    return store.put_cluster(SUB, "rg", "c1", body or sample_cluster(), **conditions)


def error_of(call):
    with pytest.raises(ArmError) as err:
        call()
    return err.value


def test_put_creates_then_updates_with_a_new_etag(store, clock):
    doc, created, _ = put(store)
    assert created and doc["properties"]["provisioningState"] == "Creating"
    clock.now += 5
    doc2, created2, _ = put(store)
    assert not created2 and doc2["eTag"] != doc["eTag"]


def test_operation_reports_in_progress_then_succeeded(store, clock):
    _, _, op = put(store)
    assert store.operation(op)["status"] == "InProgress"
    assert store.get_cluster(SUB, "rg", "c1")["properties"]["provisioningState"] == "Creating"
    clock.now += 5
    assert store.operation(op)["status"] == "Succeeded"
    assert store.get_cluster(SUB, "rg", "c1")["properties"]["provisioningState"] == "Succeeded"


def test_put_while_an_operation_runs_is_409(store):
    put(store)
    err = error_of(lambda: put(store))
    assert (err.status, err.code) == (409, "OperationNotAllowed")
    assert "Another operation (Creating) is in progress" in err.message


def test_failed_outcome(store, clock):
    _, _, op = put(store, outcome={"status": "Failed", "code": "X", "message": "broke"})
    clock.now += 5
    assert store.operation(op)["error"] == {"code": "X", "message": "broke"}
    assert store.get_cluster(SUB, "rg", "c1")["properties"]["provisioningState"] == "Failed"


def test_if_match_and_if_none_match(store, clock):
    doc, _, _ = put(store)
    clock.now += 5
    assert error_of(lambda: put(store, if_match='"other"')).status == 412
    assert error_of(lambda: put(store, if_none_match="*")).status == 412
    put(store, if_match=f'"{doc["eTag"]}"')
    assert error_of(lambda: store.put_cluster(SUB, "rg", "new", sample_cluster(), if_match="*")).status == 412
    store.put_cluster(SUB, "rg", "new", sample_cluster(), if_none_match="*")


@pytest.mark.parametrize("hours", [0, 23, 2161, None])
def test_the_service_validates_the_interval(store, hours):
    body = sample_cluster(image_cleaner=(True, hours))
    err = error_of(lambda: put(store, body))
    assert err.status == 400
    assert err.message == f"ImageCleaner intervalHours {hours or 0} is out of range [24 - 2160], please correct it."


def test_a_string_interval_is_not_an_int32(store):
    err = error_of(lambda: put(store, sample_cluster(image_cleaner=(True, "72"))))
    assert err.code == "InvalidRequestContent"


def test_unregistered_feature(store):
    store.feature_registered = False
    assert error_of(lambda: put(store, sample_cluster(image_cleaner=(True, 48)))).code == (
        "ImageCleanerFeatureFlagNotEnabled"
    )
    put(store, sample_cluster(image_cleaner=(False, 48)))


def test_missing_cluster_and_group(store):
    err = error_of(lambda: store.get_cluster(SUB, "rg", "nope"))
    assert (err.status, err.code) == (404, "ResourceNotFound")
    assert "managedClusters/nope' under resource group 'rg' was not found" in err.message
    assert error_of(lambda: store.get_cluster(SUB, "nogroup", "c1")).code == "ResourceGroupNotFound"


def test_read_only_fields_are_kept_on_update(store, clock):
    doc, _, _ = put(store)
    clock.now += 5
    body = sample_cluster()
    body["properties"]["fqdn"] = "evil.example"
    doc2, _, _ = put(store, body)
    assert doc2["properties"]["fqdn"] == doc["properties"]["fqdn"]


def test_delete_is_an_operation(store, clock):
    put(store)
    clock.now += 5
    op = store.delete_cluster(SUB, "rg", "c1")
    assert store.get_cluster(SUB, "rg", "c1")["properties"]["provisioningState"] == "Deleting"
    clock.now += 5
    assert store.operation(op)["status"] == "Succeeded"
    assert store.list_clusters(SUB, "rg") == []


def test_token_bucket(clock):
    bucket = TokenBucket(rate=0.5, burst=2, clock=clock)
    assert [bucket.take(), bucket.take()] == [0, 0]
    assert bucket.take() == 2
    clock.now += 2
    assert bucket.take() == 0


def test_faults_are_matched_skipped_and_used_up(store):
    store.add_fault({"method": "GET", "path_contains": "c1", "status": 503, "times": 1, "skip": 1})
    assert store.take_fault("PUT", "/x/c1") is None
    assert store.take_fault("GET", "/x/c1") is None  # skipped once
    assert store.take_fault("GET", "/x/c1")["status"] == 503
    assert store.take_fault("GET", "/x/c1") is None


def test_state_survives_a_restart(tmp_path, clock):
    path = str(tmp_path / "state.json")
    first = Store(operation_seconds=0, state_file=path, clock=clock)
    first.etags_default = True
    first.seed_cluster(SUB, "rg", "kept", sample_cluster(image_cleaner=(False, 72)))
    second = Store(state_file=path, clock=clock)
    doc = second.get_cluster(SUB, "rg", "kept")
    assert doc["properties"]["securityProfile"]["imageCleaner"] == {"enabled": False, "intervalHours": 72}
    assert doc["eTag"] == first.get_cluster(SUB, "rg", "kept")["eTag"]


def test_the_trust_bundle_can_be_made_again_from_a_shell_that_uses_it(tmp_path):
    from armemulator.azprofile import trust_bundle

    emulator_ca, system = tmp_path / "ca.pem", tmp_path / "system.pem"
    emulator_ca.write_text("EMULATOR\n")
    system.write_text("SYSTEM\n")
    never = tmp_path / "not-used.pem"
    first = trust_bundle({"REQUESTS_CA_BUNDLE": str(system)}, str(emulator_ca), str(tmp_path), [], str(never))
    assert open(first).read() == "EMULATOR\nSYSTEM\n"
    # `source .sandbox/env.sh`, then the sandbox again: the bundle must not read itself while writing itself.
    again = trust_bundle(
        {"REQUESTS_CA_BUNDLE": first, "SSL_CERT_FILE": str(system)}, str(emulator_ca), str(tmp_path), [], str(never)
    )
    assert open(again).read() == "EMULATOR\nSYSTEM\n"


def test_by_default_a_cluster_has_no_etag_as_the_live_service_answers(clock):
    store = Store(operation_seconds=0, clock=clock)
    store.put_resource_group(SUB, "rg", "eastus")
    doc, _, _ = store.put_cluster(SUB, "rg", "plain", sample_cluster())
    assert "eTag" not in doc and "eTag" not in store.get_cluster(SUB, "rg", "plain")
    # HTTP's If-Match: with no current ETag, no tag matches (only *).
    failed = error_of(lambda: store.put_cluster(SUB, "rg", "plain", sample_cluster(), if_match='"anything"'))
    assert failed.status == 412
    store.put_cluster(SUB, "rg", "plain", sample_cluster(), if_match="*")
    assert "eTag" in store.set_etags(SUB, "rg", "plain", True)
    assert "eTag" not in store.set_etags(SUB, "rg", "plain", False)
