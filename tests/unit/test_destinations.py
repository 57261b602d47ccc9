"""The destination checks: which URLs and addresses are admitted, and what a refusal says (and never says)."""

from __future__ import annotations

import ipaddress
import pickle
import re

import pytest

from adapters.destinations import (
    DestinationPolicy,
    DestinationRefused,
    DestinationUnresolved,
    SecretURL,
    address_refusal,
    check_destination,
    check_slack_destination,
)
from tests.unit.webhook_receiver import ScriptedResolver

STRICT = DestinationPolicy()
LENIENT = DestinationPolicy(allow_private=True)
SLACK_URL = "https://hooks.slack.com/services/T0HALTON1/B0HALTON2/sLaCkSeCrEtToKeN0123456789"
SECRET_PARTS = ("T0HALTON1", "B0HALTON2", "sLaCkSeCrEtToKeN0123456789", "tok3nInQuery")


def public() -> ScriptedResolver:
    return ScriptedResolver(["93.184.215.14"])


# -- addresses: every class the rules name, judged under both policies -----------------------------------------

REFUSED_ALWAYS = {
    "169.254.169.254": "cloud metadata",
    "100.100.100.200": "cloud metadata",
    "fd00:ec2::254": "cloud metadata",
    "169.254.10.1": "link-local",
    "fe80::1": "link-local",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "ff02::1": "multicast",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "192.0.0.192": "reserved",
    "198.18.0.1": "reserved",
    "192.0.2.10": "documentation",
    "2001:db8::1": "documentation",
    "::ffff:169.254.169.254": "cloud metadata",
    "64:ff9b::a9fe:a9fe": "cloud metadata",  # NAT64 of 169.254.169.254
    "2002:a9fe:a9fe::1": "cloud metadata",  # 6to4 of 169.254.169.254
}
PRIVATE = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "::1": "loopback",
    "::ffff:127.0.0.1": "loopback",
    "10.1.2.3": "RFC 1918",
    "172.16.0.1": "RFC 1918",
    "172.31.255.254": "RFC 1918",
    "192.168.1.1": "RFC 1918",
    "100.64.0.1": "RFC 6598",
    "100.127.255.254": "RFC 6598",
    "fc00::1": "fc00::/7",
    "fd12:3456::1": "fc00::/7",
    "::ffff:10.0.0.1": "RFC 1918",
}
PUBLIC = ["93.184.215.14", "1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111",
          "::ffff:93.184.215.14", "2002:5db8:d70e::1"]


@pytest.mark.parametrize(("address", "words"), sorted(REFUSED_ALWAYS.items()))
def test_metadata_link_local_multicast_and_reserved_are_refused_even_with_the_setting(address: str,
                                                                                       words: str) -> None:
    ip = ipaddress.ip_address(address)
    for policy in (STRICT, LENIENT):
        refusal = address_refusal(ip, policy)
        assert refusal is not None and words in refusal


@pytest.mark.parametrize(("address", "words"), sorted(PRIVATE.items()))
def test_loopback_and_private_are_refused_unless_the_setting_admits_them(address: str, words: str) -> None:
    ip = ipaddress.ip_address(address)
    refusal = address_refusal(ip, STRICT)
    assert refusal is not None and words in refusal
    assert address_refusal(ip, LENIENT) is None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_admitted(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), STRICT) is None


def test_an_ipv4_mapped_address_is_named_for_what_it_reaches() -> None:
    refusal = address_refusal(ipaddress.ip_address("::ffff:127.0.0.1"), STRICT)
    assert refusal == "an IPv6 form of 127.0.0.1, a loopback address"


# -- the form of the URL -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "rule"), [
    ("ftp://hooks.customer.test/x", "must be an https:// URL"),
    ("file:///etc/passwd", "must be an https:// URL"),
    ("gopher://hooks.customer.test/x", "must be an https:// URL"),
    ("http://hooks.customer.test/hook?token=tok3nInQuery", "must use https, not http"),
    ("https://user:tok3nInQuery@hooks.customer.test/hook", "must not carry a user name or password"),
    ("https:///no-host", "no host"),
    ("https://hooks.customer.test:99999/x", "port is not between 1 and 65535"),
    ("https://hooks.customer.test:0/x", "port is not between 1 and 65535"),
    ("https://exa mple.test/x", "not a valid host name"),
    ("https://%6c%6fcalhost/x", "not a valid host name"),
    ("https://a..b/x", "not a valid host name"),
    ("https://exa\x00mple.test/x", "not a valid URL"),
    ("not a url at all", "must be an https:// URL"),
])
def test_a_url_of_the_wrong_form_is_refused_before_any_lookup(url: str, rule: str) -> None:
    resolver = public()
    with pytest.raises(DestinationRefused) as refused:
        check_destination(url, STRICT, resolve=resolver)
    assert rule in str(refused.value)
    assert str(refused.value).startswith("webhook destination refused: ")
    assert resolver.lookups == []
    assert "tok3nInQuery" not in str(refused.value)


def test_the_setting_admits_http() -> None:
    checked = check_destination("http://hooks.customer.test/hook", LENIENT, resolve=public())
    assert (checked.scheme, checked.port) == ("http", 80)


@pytest.mark.parametrize("url", [
    "https://hooks.slack.com.evil.test/services/T0HALTON1/B0HALTON2/sLaCkSeCrEtToKeN0123456789",
    "https://evil.test/hooks.slack.com/services/T0HALTON1/B0HALTON2/sLaCkSeCrEtToKeN0123456789",
    "https://slack.com/services/T0HALTON1/B0HALTON2/sLaCkSeCrEtToKeN0123456789",
    "https://hooks.slack.com./services/T0HALTON1/B0HALTON2/sLaCkSeCrEtToKeN0123456789",
])
def test_a_slack_url_must_be_on_slacks_hooks_host(url: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        check_slack_destination(url, STRICT, resolve=public())
    message = str(refused.value)
    assert message.startswith("Slack webhook URL refused: it must be on hooks.slack.com, not ")
    assert not any(part in message for part in SECRET_PARTS)


def test_a_slack_url_with_a_password_is_refused_for_the_password_not_its_host() -> None:
    with pytest.raises(DestinationRefused, match="user name or password"):
        check_slack_destination("https://hooks.slack.com@evil.test/services/x", STRICT, resolve=public())


def test_a_slack_url_on_hooks_slack_com_is_checked_like_any_other() -> None:
    checked = check_slack_destination(SLACK_URL, STRICT, resolve=public())
    assert (checked.host, checked.port, [str(a) for a in checked.addresses]) == (
        "hooks.slack.com", 443, ["93.184.215.14"])
    with pytest.raises(DestinationRefused, match=re.escape("hooks.slack.com resolves to 10.0.0.7, a private address")):
        check_slack_destination(SLACK_URL, STRICT, resolve=ScriptedResolver(["10.0.0.7"]))


# -- resolution ----------------------------------------------------------------------------------------------

def test_every_address_the_host_resolves_to_must_be_public() -> None:
    resolver = ScriptedResolver(["93.184.215.14", "2606:4700:4700::1111", "10.0.0.7"])
    with pytest.raises(DestinationRefused) as refused:
        check_destination("https://hooks.customer.test/hook?token=tok3nInQuery", STRICT, resolve=resolver)
    assert str(refused.value) == ("webhook destination refused: hooks.customer.test resolves to 10.0.0.7, "
                                  "a private address (RFC 1918); only public internet addresses are allowed")


def test_the_host_is_resolved_once_and_the_checked_addresses_kept_in_order() -> None:
    resolver = ScriptedResolver(["2606:4700:4700::1111", "93.184.215.14", "93.184.215.14"], ["127.0.0.1"])
    checked = check_destination("https://hooks.customer.test:8443/hook", STRICT, resolve=resolver)
    assert resolver.lookups == [("hooks.customer.test", 8443)]
    assert [str(a) for a in checked.addresses] == ["2606:4700:4700::1111", "93.184.215.14"]
    assert checked.authority == "hooks.customer.test:8443"


@pytest.mark.parametrize(("url", "words"), [
    ("https://169.254.169.254/latest/meta-data/iam/security-credentials/", "169.254.169.254 is a cloud metadata"),
    ("https://127.0.0.1:8443/hook", "127.0.0.1 is a loopback address"),
    ("https://[::1]/hook", "[::1] is a loopback address"),
    ("https://[::ffff:169.254.169.254]/", "an IPv6 form of 169.254.169.254, a cloud metadata"),
    ("https://localhost/hook", "localhost resolves to"),
    ("https://2130706433/hook", "resolves to 127.0.0.1, a loopback address"),  # 127.0.0.1 as one decimal
    ("https://0x7f000001/hook", "resolves to 127.0.0.1, a loopback address"),
])
def test_internal_addresses_are_refused_through_the_system_resolver(url: str, words: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        check_destination(url, STRICT)
    assert words in str(refused.value)
    assert "meta-data" not in str(refused.value) and "/hook" not in str(refused.value)


def test_a_host_that_does_not_resolve_is_a_transient_failure() -> None:
    with pytest.raises(DestinationUnresolved, match=re.escape("does-not-exist.invalid does not resolve")):
        check_destination("https://does-not-exist.invalid/hook", STRICT)
    with pytest.raises(DestinationUnresolved, match="resolves to no address"):
        check_destination("https://hooks.customer.test/hook", STRICT, resolve=ScriptedResolver([]))


# -- secrets ------------------------------------------------------------------------------------------------

def test_a_url_and_a_checked_destination_never_print_their_path_or_query() -> None:
    url = SecretURL(SLACK_URL + "?extra=tok3nInQuery")
    checked = check_slack_destination(url, STRICT, resolve=public())
    for text in (repr(url), str(url), repr(checked), str(checked), checked.shown):
        assert "hooks.slack.com" in text
        assert not any(part in text for part in SECRET_PARTS), text
    with pytest.raises(TypeError):
        pickle.dumps(url)
    with pytest.raises(TypeError):
        pickle.dumps(checked)
