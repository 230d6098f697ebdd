"""The product page (French by default) and the interactions page."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cordee.drugs.models import Availability, Product, SafetyInfo
from cordee.drugs.search import search

pytestmark = pytest.mark.usefixtures("subset_db")


def test_product_page_needs_a_login(client, db):
    response = client.get("/medicaments/60002283/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_product_page_in_french(client_for, alice, django_assert_max_num_queries):
    client = client_for(alice)
    # A fixed number whatever the product; the shell's navigation counts what waits (one query each).
    with django_assert_max_num_queries(30):
        html = client.get("/medicaments/60002283/").content.decode()
    for text in ("ANASTROZOLE ACCORD 1 mg", "Composition", "ANASTROZOLE", "Présentations", "3400949497294",
                 "25,36 €", "24,34 € + 1,02 €", "100 %", "Groupe générique", "Disponibilité", "commercialisé",
                 "Conditions de prescription et de délivrance", "Avis de la HAS"):  # fmt: skip
        assert text in html, text


def test_product_page_shows_has_links_generics_and_conditions(client_for, alice):
    html = client_for(alice).get("/medicaments/60234100/").content.decode()  # DOLIPRANE 1000 mg, comprimé
    assert "DOLIPRANE 1000 mg, comprimé" in html
    kardegic = search("kardegic").hits[0].doc.cis
    html = client_for(alice).get(f"/medicaments/{kardegic}/").content.decode()
    assert "https://www.has-sante.fr/jcms/" in html


def test_shortage_mitm_monitoring_and_safety_information(client_for, alice):
    shortage = Availability.objects.filter(status_code__in=[1, 2], cis__in=Product.objects.values("cis")).first()
    assert shortage is not None
    SafetyInfo.objects.create(cis=shortage.cis, start_date=timezone.localdate(), text="Alerte <b>test</b>\nsuite")
    Product.objects.filter(cis=shortage.cis).update(reinforced_monitoring=True)
    html = client_for(alice).get(f"/medicaments/{shortage.cis}/").content.decode()
    assert shortage.status_label in html
    assert "surveillance renforcée" in html
    assert "Alerte &lt;b&gt;test&lt;/b&gt;<br>suite" in html  # kept as text, escaped
    mitm = search("tenormine").hits[0].doc
    if mitm.mitm:
        assert "intérêt thérapeutique majeur" in client_for(alice).get(f"/medicaments/{mitm.cis}/").content.decode()


def test_unknown_or_malformed_product_is_404(client_for, alice):
    for cis in ("99999999", "abc", "1234"):
        assert client_for(alice).get(f"/medicaments/{cis}/").status_code == 404


def test_a_removed_product_still_has_its_page(client_for, alice):
    Product.objects.filter(cis="60002283").update(removed_at=timezone.now())
    html = client_for(alice).get("/medicaments/60002283/").content.decode()
    assert "ne figure plus dans la BDPM" in html


def test_the_page_fits_a_phone_and_is_labelled(client_for, alice):
    html = client_for(alice).get("/medicaments/60002283/").content.decode()
    assert 'name="viewport"' in html and 'class="table-wrap"' in html and 'data-label="' in html
    assert 'aria-labelledby="composition-title"' in html


# --- interactions -------------------------------------------------------------------------
def test_interactions_page_lists_levels_and_texts(client_for, alice):
    coumadine, aspirin = search("coumadine 2").hits[0].doc.cis, search("aspirine upsa 500").hits[0].doc.cis
    html = client_for(alice).get("/medicaments/interactions/", {"cis": [coumadine, aspirin]}).content.decode()
    assert "Contre-indication" in html and "ANTICOAGULANTS ORAUX" in html
    assert 'class="interaction level-ci"' in html and "500 mg par unité" in html


def test_interactions_page_gives_the_level_for_the_strength_and_the_others_apart(client_for, alice):
    coumadine, kardegic = search("coumadine 2").hits[0].doc.cis, search("kardegic 75").hits[0].doc.cis
    html = client_for(alice).get("/medicaments/interactions/", {"cis": [coumadine, kardegic]}).content.decode()
    first = html.index('class="interaction ')
    assert html.startswith('class="interaction level-ad"', first)
    assert "75 mg par unité" in html and "doses antiagrégantes" in html
    others = html.index("À d’autres doses")
    assert html.index("Contre-indication", first) > others  # contraindication only at other doses


def test_interactions_page_picks_products_with_the_search(client_for, alice):
    doliprane = search("doliprane 1000").hits[0].doc.cis
    response = client_for(alice).get("/medicaments/interactions/", {"cis": doliprane, "q": "coumadine", "pick": "1"})
    html = response.content.decode()
    assert response.status_code == 200
    assert f'name="cis" value="{doliprane}"' in html  # kept in the form
    assert 'type="submit" name="cis" value="' in html  # each result can be added
    assert "Choisissez au moins deux médicaments" in html


def test_interactions_page_unknown_product_is_404(client_for, alice):
    assert client_for(alice).get("/medicaments/interactions/", {"cis": "99999999"}).status_code == 404


def test_interactions_page_needs_a_login(client, db):
    assert client.get("/medicaments/interactions/").status_code == 302


def test_a_parallel_import_says_so_on_its_page(client_for, alice):
    imported = Product.objects.filter(name__startswith="VENTOLINE 100", amm_procedure__icontains="parall").first()
    html = client_for(alice).get(f"/medicaments/{imported.cis}/").content.decode()
    assert "importation parallèle" in html and imported.holders in html
