"""The sandbox's CA bundle starts from what the machine already trusts (issue 11)."""

import pytest

from armemulator.azprofile import pip_cert_settings, trust_bundle

# No az in these tests: the az-release matrix (scripts/test-matrix.sh) leaves them out.
pytestmark = pytest.mark.same_on_every_az


def _pem(name):
    return f"-----BEGIN CERTIFICATE-----\n{name}\n-----END CERTIFICATE-----\n"


def test_with_no_ca_variables_the_system_store_and_the_emulator_ca_are_both_trusted(tmp_path):
    emulator_ca, system = tmp_path / "emulator.pem", tmp_path / "system.pem"
    emulator_ca.write_text(_pem("EMULATOR"))
    system.write_text(_pem("PROXY-ROOT") + _pem("PUBLIC-ROOT"))
    # Only the system's CA file exists: no REQUESTS_CA_BUNDLE, no SSL_CERT_FILE, no certifi bundle.
    bundle = trust_bundle({}, str(emulator_ca), str(tmp_path), [str(system)], str(tmp_path / "no-certifi.pem"))
    text = open(bundle).read()
    for name in ("EMULATOR", "PROXY-ROOT", "PUBLIC-ROOT"):
        assert _pem(name).strip() in text


def test_pip_cert_and_certifi_are_added_and_shared_certificates_kept_once(tmp_path):
    emulator_ca, system, pip_ca, certifi_ca = (tmp_path / n for n in ("e.pem", "s.pem", "p.pem", "c.pem"))
    emulator_ca.write_text(_pem("EMULATOR"))
    system.write_text(_pem("PUBLIC-ROOT"))
    pip_ca.write_text(_pem("PROXY-ROOT"))
    certifi_ca.write_text(_pem("PUBLIC-ROOT") + _pem("CERTIFI-ONLY"))
    bundle = trust_bundle({}, str(emulator_ca), str(tmp_path), [str(system), str(pip_ca)], str(certifi_ca))
    text = open(bundle).read()
    assert text.count("PUBLIC-ROOT") == 1
    for name in ("EMULATOR", "PROXY-ROOT", "CERTIFI-ONLY"):
        assert name in text


def test_a_ca_variable_the_caller_set_is_the_base_and_the_system_is_not_asked(tmp_path):
    emulator_ca, mine = tmp_path / "e.pem", tmp_path / "mine.pem"
    emulator_ca.write_text(_pem("EMULATOR"))
    mine.write_text(_pem("MINE"))

    def system_must_not_be_read():
        raise AssertionError("the system store was read although SSL_CERT_FILE was set")

    bundle = trust_bundle({"SSL_CERT_FILE": str(mine)}, str(emulator_ca), str(tmp_path), system_must_not_be_read)
    assert open(bundle).read() == _pem("EMULATOR") + _pem("MINE")


def test_pip_config_list_cert_settings_are_read_from_every_scope():
    listed = (
        ":env:.cert='/etc/ssl/certs/proxy.crt'\n"
        ":env:.default-timeout='180'\n"
        "global.cert='/etc/ssl/certs/ca-certificates.crt'\n"
        "global.index-url='https://example.invalid/simple'\n"
        "install.client-cert='/not/a/ca.pem'\n"
    )
    assert pip_cert_settings(listed) == ["/etc/ssl/certs/proxy.crt", "/etc/ssl/certs/ca-certificates.crt"]
