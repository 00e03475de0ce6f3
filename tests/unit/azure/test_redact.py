"""Credentials masked out of debug traces (pure), on the bodies the extension exchanges with ARM."""

import base64
import json

import yaml

from azext_imagecleaner.azure.redact import MASK, redact, redact_text

JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJhdWQiOiI2ZGFlNDJmOCIsInRpZCI6InQifQ.c2lnbmF0dXJlc2lnbmF0dXJl"
KUBECONFIG = {
    "apiVersion": "v1",
    "clusters": [{"name": "c", "cluster": {"server": "https://c.hcp.eastus.azmk8s.io:443"}}],
    "users": [
        {
            "name": "clusterUser_rg_c",
            "user": {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ", "token": "static-secret"},
        }
    ],
}


def test_a_credential_response_shows_the_kubeconfig_decoded_without_its_secrets():
    value = base64.b64encode(yaml.safe_dump(KUBECONFIG).encode()).decode()
    body = json.dumps({"kubeconfigs": [{"name": "clusterUser", "value": value}]})
    shown = redact_text(body)
    assert "static-secret" not in shown and "S0VZ" not in shown and "Q0VSVA==" not in shown and value not in shown
    (entry,) = json.loads(shown)["kubeconfigs"]
    assert entry["name"] == "clusterUser"
    assert entry["value"]["clusters"][0]["cluster"]["server"] == "https://c.hcp.eastus.azmk8s.io:443"
    assert entry["value"]["users"][0] == {
        "name": "clusterUser_rg_c",
        "user": {"client-certificate-data": MASK, "client-key-data": MASK, "token": MASK},
    }


def test_an_unreadable_kubeconfig_is_masked_whole():
    shown = json.loads(redact_text(json.dumps({"kubeconfigs": [{"name": "x", "value": "not base64 !"}]})))
    assert shown == {"kubeconfigs": [{"name": "x", "value": MASK}]}


def test_a_run_command_request_keeps_its_command_and_loses_its_cluster_token():
    body = {"command": "kubectl get pods", "context": "UEsDBA==", "clusterToken": JWT}
    assert json.loads(redact_text(json.dumps(body))) == {**body, "clusterToken": MASK}


def test_tokens_anywhere_are_masked_whatever_the_key():
    assert redact({"a": [{"accessToken": "t"}, {"note": f"Bearer {JWT}"}], "password": "p"}) == {
        "a": [{"accessToken": MASK}, {"note": f"Bearer {MASK}"}],
        "password": MASK,
    }
    assert redact_text(f"plain text with {JWT} inside") == f"plain text with {MASK} inside"


def test_empty_values_and_other_fields_are_left_alone():
    body = {"token": None, "name": "c", "properties": {"provisioningState": "Succeeded", "count": 3}}
    assert redact(body) == body
    assert redact_text(None) is None
