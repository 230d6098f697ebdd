"""Every id in a URL or API path answers 404 for junk of any shape, never a 500 (issue 10,
finding 7): a 20-digit number overflowed the 64-bit columns (``OverflowError``)."""

from __future__ import annotations

import pytest

from cordee.lib.ids import IdConverter, parse_id

HUGE = "9" * 20
JUNK = [HUGE, "18446744073709551616", "9223372036854775808", "0", "-1", "1e3", "abc", "%20%31"]


@pytest.mark.parametrize("junk", JUNK)
@pytest.mark.parametrize(
    "user,template",
    [
        ("ada", "/comptes/structures/{}/"),
        ("ada", "/comptes/structures/1/annuaire/professionnels/{}/verifier/"),
        ("alice", "/patients/{}/"),
        ("alice", "/patients/{}/historique/"),
        ("alice", "/messagerie/{}/"),
        ("alice", "/api/messaging/conversations/{}"),
        ("alice", "/api/messaging/conversations/{}/messages"),
        ("alice", "/api/messaging/attachments/{}"),
        ("alice", "/api/drugs/products/{}"),
        ("alice", "/medicaments/{}/"),
        ("otto", "/securite/alertes/{}/revue/"),
    ],
)
def test_junk_ids_answer_404(client_for, personas, user, template, junk):
    client = client_for(personas[user])
    url = template.format(junk)
    response = client.post(url) if url.endswith(("/revue/", "/verifier/")) else client.get(url)
    assert response.status_code == 404, url


@pytest.mark.parametrize("junk", JUNK)
def test_junk_ids_in_posted_urls_answer_404(client_for, ada, junk):
    client = client_for(ada)
    assert client.post(f"/comptes/membres/{junk}/role/", {"role": "admin"}).status_code == 404
    assert client.post(f"/comptes/securite/sessions/{junk}/revoquer/").status_code == 404


def test_the_kernel_parses_ids_one_way():
    assert parse_id("42") == parse_id(42) == 42
    assert parse_id(str(2**63 - 1)) == 2**63 - 1
    for junk in [*JUNK, True, None, 2**63, " 7", "٣"]:
        with pytest.raises(Exception) as refused:
            parse_id(junk)
        assert refused.typename == "Http404"
    with pytest.raises(ValueError):
        IdConverter().to_python(str(2**63))
